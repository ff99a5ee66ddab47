//! The guided tour, both ways: it starts at the first lesson not done,
//! steps forward and back within the lessons, says a step is done only
//! once its task is, points at the part of the page the task is about,
//! rides in the link (and a bad step is refused), and changes nothing else.
//! Runs natively and as wasm under Node.

use home_sim::hash::Settings;
use home_sim::{Focus, Scenario, Simulation, lessons};
use wasm_bindgen_test::wasm_bindgen_test;

fn home() -> Simulation {
    let mut sim = Simulation::new(Scenario::smart_home(), 21).expect("starts");
    sim.advance(3_000);
    sim
}

#[wasm_bindgen_test(unsupported = test)]
fn the_tour_starts_at_the_first_lesson_not_done_and_stays_within_the_lessons() {
    let mut sim = home();
    assert!(sim.tour().is_none(), "off until started");
    sim.start_tour();
    let step = sim.tour().expect("on");
    assert_eq!((step.index, step.total, step.lesson.id, step.done), (0, 6, "fifo-routing", false));
    sim.tour_back();
    assert_eq!(sim.tour().map(|s| s.index), Some(0), "no step before the first");
    for _ in 0..10 {
        sim.tour_next();
    }
    let last = sim.tour().expect("on");
    assert_eq!((last.index, last.has_next()), (5, false), "no step after the last");
    sim.end_tour();
    assert!(sim.tour().is_none());

    sim.publish("home/garage/temperature", "{}", false).expect("publish");
    sim.advance(1_000);
    assert!(sim.lessons_done()[0]);
    sim.start_tour();
    assert_eq!(sim.tour().map(|s| s.lesson.id), Some("competing-consumers"), "lesson 1 is done: start at 2");
    sim.tour_back();
    assert!(sim.tour().is_some_and(|s| s.done), "a done lesson's step says so");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_step_is_done_once_its_task_is_and_points_at_its_part_of_the_page() {
    let mut sim = home();
    sim.start_tour();
    sim.tour_next();
    let step = sim.tour().expect("on");
    assert_eq!(step.focus(), Focus::Queue("telemetry"));
    assert!(!step.done, "not before the task");
    sim.add_consumer("telemetry").expect("add");
    sim.advance(5_000);
    assert!(sim.tour().is_some_and(|s| s.done), "done after it");
    let focus: Vec<Focus> = lessons().iter().map(|l| l.focus).collect();
    assert_eq!(focus[4], Focus::Queue("dead-letters"));
    assert_eq!(focus[5], Focus::Devices);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_tour_rides_in_the_link_and_changes_nothing_else() {
    let mut sim = home();
    let without = Simulation::from_settings(&sim.settings()).expect("opens");
    sim.start_tour();
    sim.tour_next();
    sim.tour_next();
    let hash = sim.settings().to_hash();
    assert!(hash.contains("&tour=2"), "{hash}");
    let opened = Simulation::from_settings(&Settings::from_hash(&hash).expect("reads")).expect("opens");
    assert_eq!(opened.tour().map(|s| s.index), Some(2));
    assert_eq!(opened.snapshot(), without.snapshot(), "the house is the same with the tour on");
    sim.end_tour();
    assert!(!sim.settings().to_hash().contains("tour="));
    assert!(Settings::from_hash("#tour=6").is_err(), "there is no seventh step");
    assert!(Settings::from_hash("#tour=x").is_err());
}
