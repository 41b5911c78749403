"""What a witness checks between the checkpoint it holds and the log's newest one."""

from jobledger.proof import merkle
from jobledger.proof.errors import ProofError
from jobledger.proof.note import Checkpoint


def check_growth(old: Checkpoint, new: Checkpoint, proof: list[bytes]) -> None:
    """The newer checkpoint extends the older (same origin, no fewer leaves, a consistency proof
    from the old root to the new one); raise ProofError naming how the log changed."""
    if new.origin != old.origin:
        raise ProofError(f"the log's origin changed from {old.origin!r} to {new.origin!r}")
    if new.size < old.size:
        raise ProofError(
            f"the log shrank from {old.size} to {new.size} leaves: leaves {new.size}..{old.size - 1} "
            "were truncated or deleted"
        )
    if new.size == old.size and new.root != old.root:
        raise ProofError(f"two different roots signed for the same size {old.size}: the log was rewritten")
    if old.size == 0:
        if old.root != merkle.EMPTY_ROOT:
            raise ProofError("the empty tree's checkpoint has a root other than the empty tree's")
        return  # every tree extends the empty one
    merkle.verify_consistency(old.size, new.size, proof, old.root, new.root)
