"""The parts a collection is made of, each an object built from explicit inputs (a `Store`, the
index folder, the collection's settings) and testable without a `Database`:

* `keeper.IndexKeeper`: the derived FAISS index (open, sync, replay, apply, save, rebuild, tune,
  background upkeep), behind the `protocol.Keeper` interface;
* `writer.Writer`: validate (`records`), the write rule (`write_rules`), embed, write;
* `reads`: lookups by id, counts, facets and saved directions over a query `Space`;
* `encoder_slot.EncoderSlot`, `settings.CollectionSettings`: the encoder and the settings they
  share; `parts.assemble` builds them all (the query `Space` included) for `Collection`.

Every part takes the store connection before the collection lock (`locking`).
"""
