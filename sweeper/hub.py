"""Which commit a Hugging Face hub repo's revision points at (for the keys)."""

from __future__ import annotations

from pathlib import Path


def hub_commit(repo_id: str, *, repo_type: str, revision: str | None = None) -> str:
    """The commit of `repo_id` at `revision` (default main): asked of the hub (short
    timeout) unless it is offline, else read from the local hub cache; the revision's
    name where neither can say. `repo_type`: model or dataset."""
    name = revision or "main"
    try:
        from huggingface_hub import HfApi
        from huggingface_hub.constants import HF_HUB_OFFLINE

        if not HF_HUB_OFFLINE:
            sha = HfApi().repo_info(repo_id, repo_type=repo_type, revision=name,
                                    timeout=10).sha
            if sha:
                return sha
    except Exception:  # offline, unknown repo, no hub client: the local cache may say
        pass
    try:
        from huggingface_hub.constants import HF_HUB_CACHE

        ref = Path(HF_HUB_CACHE) / f"{repo_type}s--{repo_id.replace('/', '--')}" / "refs" / name
        if ref.is_file():
            return ref.read_text().strip()
    except Exception:
        pass
    return name
