//! The guided tour: the lessons one at a time, in teaching order, each
//! pointing at the part of the page its task is about ([`Focus`]). Where
//! the tour is belongs to the simulation like the lessons' progress, so a
//! tab switch, a reload and a copied link (`tour=<step>` in the hash) find
//! it on the same step. It changes nothing else: the house runs the same
//! with or without it.

use crate::lessons::{Focus, Lesson, lessons};
use crate::simulation::Simulation;

/// One step of the tour as a page shows it.
#[derive(Debug, Clone, Copy)]
pub struct TourStep {
    /// The step, from 0.
    pub index: usize,
    /// Steps in all.
    pub total: usize,
    /// Its lesson.
    pub lesson: &'static Lesson,
    /// Whether that lesson is done (time to go on).
    pub done: bool,
}

impl TourStep {
    /// The part of the page to point at.
    pub fn focus(&self) -> Focus {
        self.lesson.focus
    }

    /// Whether there is a step after this one.
    pub fn has_next(&self) -> bool {
        self.index + 1 < self.total
    }
}

impl Simulation {
    /// The tour's step, if the tour is on.
    pub fn tour(&self) -> Option<TourStep> {
        let index = self.tour?;
        let lesson = lessons().get(index)?;
        Some(TourStep { index, total: lessons().len(), lesson, done: self.lessons_done[index] })
    }

    /// Starts the tour at the first lesson not done (the first if all are).
    pub fn start_tour(&mut self) {
        self.tour = Some(self.lessons_done.iter().position(|d| !d).unwrap_or(0));
    }

    /// Goes to the next step (stays on the last).
    pub fn tour_next(&mut self) {
        if let Some(step) = self.tour.as_mut() {
            *step = (*step + 1).min(lessons().len() - 1);
        }
    }

    /// Goes back a step (stays on the first).
    pub fn tour_back(&mut self) {
        if let Some(step) = self.tour.as_mut() {
            *step = step.saturating_sub(1);
        }
    }

    /// Ends the tour.
    pub fn end_tour(&mut self) {
        self.tour = None;
    }

    /// Puts the tour on `step` (from a link); `None` or a step past the
    /// last turns it off.
    pub fn set_tour(&mut self, step: Option<usize>) {
        self.tour = step.filter(|s| *s < lessons().len());
    }
}
