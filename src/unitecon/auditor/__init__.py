"""The auditor commands: verify, audit, trace and diff, and the precedent graph they share."""
