"""The offline verifier: everything an auditor needs to check jobledger's evidence, and nothing else.

It imports only the standard library and `cryptography`, never the server, so a bundle or a
checkpoint can be checked on a machine with no database and no service. Read it in this order:

- `merkle`: RFC 6962/9162 hashing, the root of a list of leaves, inclusion and consistency checks;
- `note`: verifier keys, signed notes and checkpoints (c2sp.org signed-note, tlog-checkpoint);
- `bundle`: a job's audit bundle;
- `witness`: what a witness checks between two checkpoints.

Every check raises `ProofError` with a message naming what failed.
"""

from jobledger.proof.errors import ProofError

__all__ = ["ProofError"]
