//! Integration tests: mapping.
