//! Hearth engine.
