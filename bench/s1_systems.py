"""The five S1 systems behind one interface: set up, ingest raw documents, answer one text query.

Each system gets the same documents (``{"id", "title", "text"}``, the text being title + blank
line + abstract), the same bundled all-MiniLM-L6-v2 weights as a local path, and must end its
ingest with a persisted, searchable store. ``search`` takes query text and returns the ids of the
k best documents, after fetching what a caller would use (text and/or metadata) for every hit;
``encode`` embeds one query text the way that system's search does (the encoder alone, uncached),
so the encoder's share of a query can be measured.
"""

from __future__ import annotations

from pathlib import Path

K = 10
BATCH = 64  # texts per forward pass, for every system that lets us choose


class System:
    name = ""

    def __init__(self, work: Path, model: Path, backend: str | None) -> None:
        self.work, self.model, self.backend = work, model, backend

    def setup(self) -> None:
        """Imports, model load, an empty store."""

    def ingest(self, docs: list[dict[str, str]]) -> None:
        raise NotImplementedError

    def search(self, text: str) -> list[str]:
        raise NotImplementedError

    def encode(self, text: str) -> object:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the system holds."""


class Ours(System):
    name = "latentsearch"

    def setup(self) -> None:
        import latentsearch as ls

        # backend None: the default ("auto": OpenVINO for text models on the CPU; see S5)
        self.db = ls.connect(self.work / "ours", batch_size=BATCH, encoder_backend=self.backend)
        self.col = self.db.create_collection("cranfield", encoder="text", index="Flat")
        self.col.encoder.encode_texts(["warm up"])  # load the model now, as the peers do

    def ingest(self, docs: list[dict[str, str]]) -> None:
        self.col.add(
            [
                {
                    "id": d["id"],
                    "text": d["text"],
                    "metadata": {"title": d["title"]},
                    "source": {"uri": f"cranfield:{d['id']}", "title": d["title"]},
                }
                for d in docs
            ]
        )
        self.col.flush()

    def search(self, text: str) -> list[str]:
        hits = self.col.search(text, k=K)
        return [h.id for h in hits if h.metadata is not None]

    def encode(self, text: str) -> object:
        return self.col.encoder.encode_texts([text])  # the model itself: no query cache

    def close(self) -> None:
        self.db.close()


class Txtai(System):
    name = "txtai"

    def setup(self) -> None:
        from txtai import Embeddings

        self.emb = Embeddings(path=str(self.model), content=True, batch=BATCH)
        self.emb.transform("warm up")

    def ingest(self, docs: list[dict[str, str]]) -> None:
        self.emb.index((d["id"], {"text": d["text"], "title": d["title"]}, None) for d in docs)
        self.emb.save(str(self.work / "txtai"))

    def search(self, text: str) -> list[str]:
        hits = self.emb.search(text, K)  # content=True: id, text and score per hit
        return [h["id"] for h in hits if h.get("text") is not None]

    def encode(self, text: str) -> object:
        return self.emb.transform(text)


class Chroma(System):
    name = "Chroma"

    def setup(self) -> None:
        import chromadb
        from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

        self.client = chromadb.PersistentClient(path=str(self.work / "chroma"))
        ef = SentenceTransformerEmbeddingFunction(
            model_name=str(self.model), device="cpu", normalize_embeddings=True
        )
        ef(["warm up"])
        self.ef = ef
        self.col = self.client.create_collection(
            "cranfield",
            embedding_function=ef,  # type: ignore[arg-type]
            metadata={"hnsw:space": "cosine"},
        )

    def ingest(self, docs: list[dict[str, str]]) -> None:
        step = min(BATCH * 4, self.client.get_max_batch_size())
        for i in range(0, len(docs), step):
            part = docs[i : i + step]
            self.col.add(
                ids=[d["id"] for d in part],
                documents=[d["text"] for d in part],
                metadatas=[{"title": d["title"]} for d in part],
            )

    def search(self, text: str) -> list[str]:
        res = self.col.query(
            query_texts=[text], n_results=K, include=["documents", "metadatas", "distances"]
        )
        metas = (res["metadatas"] or [[]])[0]
        return [i for i, m in zip(res["ids"][0], metas, strict=True) if m is not None]

    def encode(self, text: str) -> object:
        return self.ef([text])


class Lance(System):
    """LanceDB as its docs show for text: an embedding function from its registry (the same
    sentence-transformers weights) in a pydantic schema, so ingest and queries embed themselves.
    No vector index: its docs advise none below ~100k rows (exact kNN), cosine distance."""

    name = "LanceDB"

    def setup(self) -> None:
        import lancedb
        from lancedb.embeddings import get_registry
        from lancedb.pydantic import LanceModel, Vector

        func = (
            get_registry()
            .get("sentence-transformers")
            .create(name=str(self.model), device="cpu", normalize=True)
        )

        class Doc(LanceModel):  # type: ignore[misc]
            id: str
            title: str
            text: str = func.SourceField()
            vector: Vector(func.ndims()) = func.VectorField()  # type: ignore[valid-type]

        self.func = func
        func.compute_query_embeddings("warm up")
        self.db = lancedb.connect(str(self.work / "lance"))
        self.table = self.db.create_table("cranfield", schema=Doc)

    def ingest(self, docs: list[dict[str, str]]) -> None:
        self.table.add([{"id": d["id"], "title": d["title"], "text": d["text"]} for d in docs])

    def search(self, text: str) -> list[str]:
        hits = (
            self.table.search(text)
            .distance_type("cosine")
            .limit(K)
            .select(["id", "title", "text", "_distance"])
            .to_list()
        )
        return [h["id"] for h in hits if h.get("text") is not None]

    def encode(self, text: str) -> object:
        return self.func.compute_query_embeddings(text)


class Floor(System):
    """Plain sentence-transformers + a raw FAISS IndexFlatIP + a Python list for metadata."""

    name = "ST + FAISS"

    def setup(self) -> None:
        import faiss
        from sentence_transformers import SentenceTransformer

        self.faiss = faiss
        self.st = SentenceTransformer(str(self.model), device="cpu", local_files_only=True)
        self.st.encode(["warm up"])

    def ingest(self, docs: list[dict[str, str]]) -> None:
        import json

        vecs = self.st.encode(
            [d["text"] for d in docs], batch_size=BATCH, normalize_embeddings=True
        )
        self.index = self.faiss.IndexFlatIP(vecs.shape[1])
        self.index.add(vecs)
        self.meta = [{"id": d["id"], "title": d["title"], "text": d["text"]} for d in docs]
        out = self.work / "floor"
        out.mkdir(parents=True, exist_ok=True)
        self.faiss.write_index(self.index, str(out / "index.faiss"))
        (out / "meta.json").write_text(json.dumps(self.meta))

    def search(self, text: str) -> list[str]:
        q = self.st.encode([text], normalize_embeddings=True)
        _, idx = self.index.search(q, K)
        return [self.meta[i]["id"] for i in idx[0] if i >= 0]

    def encode(self, text: str) -> object:
        return self.st.encode([text], normalize_embeddings=True)


SYSTEMS: dict[str, type[System]] = {
    "ours": Ours,
    "txtai": Txtai,
    "chroma": Chroma,
    "lancedb": Lance,
    "floor": Floor,
}
