"""The latent-space explorer: maps, clusters, concept axes and sampling over the visible items.

Small numpy-in, numpy-out parts (`projection`, `clusters`, `labels`, `axes`, `sampling`) and
the functions that feed them the caller's visible vectors (`visible`, `maps`). The facade's
`latentsearch.explore_view.ExploreView` wraps them.
"""
