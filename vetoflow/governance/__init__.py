"""Approval governance: the policy (who must approve, by when, who is told), the digest an approval is bound
to, the hash-chained audit log and the notification outbox."""
