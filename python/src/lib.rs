//! Python bindings (placeholder until the module lands).
