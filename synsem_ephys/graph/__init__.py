"""A network's weights as graphs (numpy, networkx; no torch, no recordings).

Modules
-------
weights    checked weight matrices and signs, populations, the weight graph, GraphML, the Dale-preserving
           shuffle null
pathways   class pathways (rectified excitatory influence or strong-edge ancestors), their overlap across
           depth, the pathway graph

The activity of pathway units in a recording is :func:`synsem_ephys.analysis.pathway_activity`.
"""

from .pathways import ClassPathways, PathwayOverlap, class_pathways, pathway_graph, pathway_overlap
from .weights import layer_populations, shuffle_weights, weight_graph, write_graphml

__all__ = ["ClassPathways", "PathwayOverlap", "class_pathways", "pathway_graph", "pathway_overlap",
           "layer_populations", "shuffle_weights", "weight_graph", "write_graphml"]
