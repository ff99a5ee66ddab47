//! The smart-home simulation (work in progress: see issue 4).
