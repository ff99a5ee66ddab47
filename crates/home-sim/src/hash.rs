//! Hash (to come).
