//! Where things sit in the floor-plan drawing (SVG user units), so the house,
//! the router, the queue column and the moving dots agree. Pure geometry.

use home_sim::{DeviceView, Hop};

/// The drawing's size.
pub const WIDTH: f64 = 1000.0;
/// The drawing's height.
pub const HEIGHT: f64 = 380.0;
/// Rooms in drawing order: (id, label).
pub const ROOMS: [(&str, &str); 3] = [("hall", "Hall"), ("living", "Living room"), ("kitchen", "Kitchen")];
/// A room's width.
pub const ROOM_W: f64 = 198.0;
/// A device card's size.
pub const CARD: (f64, f64) = (182.0, 64.0);
/// The router's centre.
pub const ROUTER: (f64, f64) = (676.0, 200.0);
/// Where messages from the publish form start.
pub const CONSOLE: (f64, f64) = (676.0, 56.0);
/// The queue column's left edge and width.
pub const QUEUE_X: (f64, f64) = (738.0, 168.0);
/// Where the consumers of a queue row sit.
pub const CONSUMER_X: f64 = 940.0;

/// One room's left edge.
pub fn room_x(index: usize) -> f64 {
    10.0 + index as f64 * (ROOM_W + 6.0)
}

/// Room height left for cards, under the room's label.
const ROOM_INNER_H: f64 = HEIGHT - 24.0 - 36.0;
/// Space between cards (at full size).
const GAP: (f64, f64) = (8.0, 18.0);

/// Positions of everything that can send or receive.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    /// Device id → card's top-left corner and scale (1 = full size; rooms
    /// with more cards than fit shrink them into a grid).
    pub devices: Vec<(String, f64, f64, f64)>,
    /// Queue name → row's top, with the row height.
    pub queues: Vec<(String, f64)>,
    /// Height of one queue row.
    pub row_h: f64,
}

/// The biggest scale (≤ 1) and column count at which `n` cards fit a room.
/// A grid of `cols` × `rows` cards spans `cols × w − gap` by `rows × h − gap`
/// (no gap after the last), all of it scaled.
pub fn fit(n: usize) -> (f64, usize) {
    let (w, h) = (CARD.0 + GAP.0, CARD.1 + GAP.1);
    (1..=n.max(1))
        .map(|cols| {
            let rows = n.div_ceil(cols).max(1) as f64;
            let scale = (ROOM_W - 16.0) / (cols as f64 * w - GAP.0);
            let scale = scale.min(ROOM_INNER_H / (rows * h - GAP.1)).min(1.0);
            (scale, cols)
        })
        .fold((0.0, 1), |best, c| if c.0 > best.0 { c } else { best })
}

impl Layout {
    /// Places `devices` in their rooms (others in the last room), in a grid
    /// of smaller cards when a room is crowded, and `queues` down the column.
    pub fn new(devices: &[DeviceView], queues: &[String]) -> Self {
        let room_of = |d: &DeviceView| ROOMS.iter().position(|(id, _)| *id == d.room).unwrap_or(ROOMS.len() - 1);
        let mut count = [0usize; ROOMS.len()];
        devices.iter().for_each(|d| count[room_of(d)] += 1);
        let grids = count.map(fit);
        let mut per_room = [0usize; ROOMS.len()];
        let devices = devices
            .iter()
            .map(|d| {
                let room = room_of(d);
                let (slot, (scale, cols)) = (per_room[room], grids[room]);
                per_room[room] += 1;
                let (col, row) = ((slot % cols) as f64, (slot / cols) as f64);
                let x = room_x(room) + 8.0 + col * (CARD.0 + GAP.0) * scale;
                (d.id.clone(), x, 48.0 + row * (CARD.1 + GAP.1) * scale, scale)
            })
            .collect();
        let row_h = ((HEIGHT - 24.0) / queues.len().max(1) as f64).min(30.0);
        let queues = queues.iter().enumerate().map(|(i, q)| (q.clone(), 12.0 + i as f64 * row_h)).collect();
        Self { devices, queues, row_h }
    }

    /// A device card's centre.
    pub fn device(&self, id: &str) -> Option<(f64, f64)> {
        self.devices.iter().find(|(d, ..)| d == id).map(|(_, x, y, s)| (x + CARD.0 * s / 2.0, y + CARD.1 * s / 2.0))
    }

    fn row(&self, queue: &str) -> Option<f64> {
        self.queues.iter().find(|(q, _)| q == queue).map(|(_, y)| y + self.row_h / 2.0)
    }

    /// Where a queue row receives messages.
    pub fn queue_in(&self, queue: &str) -> Option<(f64, f64)> {
        self.row(queue).map(|y| (QUEUE_X.0, y))
    }

    /// Where a queue row hands messages out.
    pub fn queue_out(&self, queue: &str) -> Option<(f64, f64)> {
        self.row(queue).map(|y| (QUEUE_X.0 + QUEUE_X.1, y))
    }

    /// Where a consumer of `queue` called `label` sits: its device card, or
    /// the consumer column of the queue's row.
    pub fn consumer(&self, queue: &str, label: &str) -> Option<(f64, f64)> {
        self.device(label).or_else(|| self.row(queue).map(|y| (CONSUMER_X, y)))
    }

    /// Where a publisher sits: a device, an automation's consumer, or the console.
    pub fn publisher(&self, from: &str) -> (f64, f64) {
        if let Some(at) = self.device(from) {
            return at;
        }
        from.strip_prefix("automation ")
            .and_then(|a| self.row(&format!("auto-{a}")))
            .map_or(CONSOLE, |y| (CONSUMER_X, y))
    }

    /// The segment a hop travels, if both ends are on the drawing.
    pub fn segment(&self, hop: &Hop) -> Option<((f64, f64), (f64, f64))> {
        match hop {
            Hop::Publish { from, .. } => Some((self.publisher(from), ROUTER)),
            Hop::Route { queue } => Some((ROUTER, self.queue_in(queue)?)),
            Hop::Deliver { queue, to, .. } => Some((self.queue_out(queue)?, self.consumer(queue, to)?)),
            Hop::Requeue { queue } => Some(((CONSUMER_X, self.row(queue)?), self.queue_out(queue)?)),
            Hop::DeadLetter { from, to } => Some((self.queue_out(from)?, self.queue_out(to)?)),
            Hop::Drop { queue } => {
                let (x, y) = self.queue_out(queue)?;
                Some(((x, y), (x + 40.0, y + 24.0)))
            }
        }
    }
}

/// The CSS class of a hop's dot (its colour).
pub fn hop_class(hop: &Hop) -> &'static str {
    match hop {
        Hop::Publish { .. } => "dot publish",
        Hop::Route { .. } => "dot route",
        Hop::Deliver { redelivered: true, .. } | Hop::Requeue { .. } => "dot redeliver",
        Hop::Deliver { .. } => "dot deliver",
        Hop::DeadLetter { .. } => "dot dead",
        Hop::Drop { .. } => "dot drop",
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_crowded_room_keeps_every_card_inside_it() {
        for n in [1, 3, 4, 5, 12, 67, 200, 500] {
            let (scale, cols) = fit(n);
            let rows = n.div_ceil(cols) as f64;
            let width = (cols as f64 * (CARD.0 + GAP.0) - GAP.0) * scale;
            let height = (rows * (CARD.1 + GAP.1) - GAP.1) * scale;
            assert!(width <= ROOM_W - 16.0 + 1e-9, "{n} cards: {width} wide");
            assert!(height <= ROOM_INNER_H + 1e-9, "{n} cards: {height} high");
        }
        assert_eq!(fit(4).0, 1.0, "the smart home's rooms keep full-size cards");
    }
}
