//! report: see lib.rs for its place in the data flow.
