"""The query layer: planner, similarity search, analogies and expressions, latent-space operations.

Public entry points are the `Collection` methods (`search`, `query`, `analogy`, `recommend`,
`interpolate`, `direction`, `centroid`, ...); this package holds their logic:

* `planner`: exact top-k under a filter and the caller's permissions;
* `search`: plan, rank, group per document, diversify (MMR), hydrate, explain (``hit.why``);
* `inputs`: texts, images, vectors, item ids and saved directions as vectors;
* `arithmetic`: 3CosAdd / 3CosMul analogies, recommendations, expression queries;
* `expressions` and `lexer`: the expression language;
* `latent`: interpolation, directions, centroids.

The filter language itself compiles to SQL in `latentsearch.store.filters`, and the ACL rule in
`latentsearch.store.acl`.
"""
