//! Lessons (to come).
