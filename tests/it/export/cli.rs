//! The binary end to end (filled once the command is wired).
