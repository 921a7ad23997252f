//! Joliet names.
