"""Pathway graphs from trained weights (networkx; no torch).

Modules
-------
pathways   weight graph, class pathways (rectified excitatory influence or strong-edge ancestors),
           their overlap across depth, their class-specific activity, GraphML export
"""

from .pathways import (ClassPathways, PathwayActivity, PathwayOverlap, class_pathways, pathway_activity,
                       pathway_graph, pathway_overlap, shuffle_weights, weight_graph, write_graphml)

__all__ = ["ClassPathways", "PathwayActivity", "PathwayOverlap", "class_pathways", "pathway_activity",
           "pathway_graph", "pathway_overlap", "shuffle_weights", "weight_graph", "write_graphml"]
