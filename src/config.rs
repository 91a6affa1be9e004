//! Environments, profiles, key and token sources.
