"""The sharded, replicated index keeper on Ray: `ShardedKeeper`, a second `core.protocol.Keeper`.

Nothing in this package imports ``ray`` at import time: `connection.Cluster` imports it when a
database is opened with ``cluster=``, so an embedded user never loads it (or needs it installed).

* `connection`: joining a Ray cluster, and the database key that names a database's actors;
* `shardsql`: what one shard reads from PostgreSQL (its ids only: ``id % shards == shard``);
* `shard`: `ShardServer`, the body of one shard replica actor;
* `placement`: actor names, options and the node each replica prefers;
* `gather`: scatter-gather with bounded retry on another replica;
* `merge`: the exact merge of per-shard top-k answers, and partial answers;
* `view`: `ShardedIndex`, the read-only index the planner searches;
* `keeper`: `ShardedKeeper` itself;
* `status`: `Database.cluster_status()`.
"""
