//! The teaching controls: queues (consumers, TTL, max length, dead letters),
//! consumers (prefetch, ack mode, processing time, crash), devices (cut off,
//! reconnect, rate), automations, a publish form and the bind form. Each is a small form
//! over [`SimHandle::act`]; what it does shows up in the drawing and the log.
//! What the learner picks and types lives in [`Forms`], above the tabs, so it
//! survives a tab switch, and a lesson can show the same form (with the same
//! values) next to its task.

use home_sim::{AckMode, Action, ConsumerSettings, DEAD_LETTERS, DeviceKind, Overflow, QueuePolicy, Rule, WorkerId};
use leptos::prelude::*;

use crate::forms::Forms;
use crate::handle::SimHandle;

/// Every control group, stacked.
#[component]
pub fn Controls(sim: SimHandle) -> impl IntoView {
    view! {
        <div class="controls">
            <PublishForm sim=sim />
            <QueueControls sim=sim />
            <crate::teacher::BindForm sim=sim />
            <ConsumerControls sim=sim />
            <DeviceControls sim=sim />
            <AutomationControls sim=sim />
        </div>
    }
}

/// The end of a consumer's label on the queue the lessons use.
const LESSONS_QUEUE: &str = " on telemetry";

fn num<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().parse().ok()
}

/// Publish a custom message from "you".
#[component]
pub fn PublishForm(sim: SimHandle) -> impl IntoView {
    let Forms { topic, payload, retain, sent, .. } = Forms::get();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (t, p, r) = (topic.get_untracked(), payload.get_untracked(), retain.get_untracked());
        let action = Action::Publish { topic: t, payload: p, retain: r };
        sent.set(sim.act(|s| s.apply(action).map(|()| s.facts().user_publishes.last().map(|p| p.0))).flatten());
    };
    view! {
        <form class="group" on:submit=submit aria-labelledby="publish-h">
            <h3 id="publish-h">"Publish a message"</h3>
            <label>"Topic"<input type="text" bind:value=topic data-testid="publish-topic" spellcheck="false" /></label>
            <label>"Payload"<input type="text" bind:value=payload data-testid="publish-payload" spellcheck="false" /></label>
            <div class="row">
                <label class="check"><input type="checkbox" bind:checked=retain />"Retain"</label>
                <button type="submit" class="primary" data-testid="publish">"Publish"</button>
                <span class="note">{move || sent.get().map(|id| format!("sent as #{id}"))}</span>
            </div>
        </form>
    }
}

/// Consumers and policy of a queue. The fields show the queue's policy as
/// it is when the queue is picked, so Apply changes only what was edited.
#[component]
pub(crate) fn QueueControls(sim: SimHandle) -> impl IntoView {
    let names = Memo::new(move |_| sim.read_layout(|s| s.queue_names()));
    let Forms { queue, max_len, overflow, ttl, dead, policy_of, .. } = Forms::get();
    Effect::new(move |_| {
        let q = queue.get();
        if policy_of.get().as_deref() == Some(q.as_str()) {
            return;
        }
        let Some(p) = sim.peek(|s| s.queue_policy(&q)) else { return };
        max_len.set(p.max_length.map(|n| n.to_string()).unwrap_or_default());
        overflow.set(if p.overflow == Overflow::RejectPublish { "reject-publish" } else { "drop-oldest" }.into());
        ttl.set(p.ttl_ms.map(|t| (t as f64 / 1000.0).to_string()).unwrap_or_default());
        dead.set(p.dead_letter.is_some());
        policy_of.set(Some(q));
    });
    let now = move || sim.read_slow(|s| s.queue_policy(&queue.get())).map(|p| format!("Now: {}", p.describe()));
    let add = move |_| {
        let q = queue.get_untracked();
        sim.act(|s| s.apply(Action::AddConsumer(q)));
    };
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = queue.get_untracked();
        let policy = QueuePolicy {
            max_length: num(&max_len.get_untracked()),
            overflow: if overflow.get_untracked() == "reject-publish" {
                Overflow::RejectPublish
            } else {
                Overflow::DropOldest
            },
            ttl_ms: home_sim::decimal::parse(&ttl.get_untracked()).map(|s| (s * 1000.0).round() as u64),
            dead_letter: (dead.get_untracked() && q != DEAD_LETTERS).then(|| DEAD_LETTERS.to_string()),
        };
        sim.act(|s| s.apply(Action::SetPolicy(q, policy)));
    };
    view! {
        <form class="group" on:submit=apply aria-labelledby="queue-h">
            <h3 id="queue-h">"Queue"</h3>
            <div class="row">
                <label class="grow">"Queue"
                    <select bind:value=queue data-testid="control-queue">
                        <For each=move || names.get() key=|n| n.clone() let:n>
                            <option value=n.clone()>{n.clone()}</option>
                        </For>
                    </select>
                </label>
                <button type="button" on:click=add data-testid="add-consumer" title="Competing consumers share the queue round robin">"Add consumer"</button>
            </div>
            <p class="note" data-testid="policy-now">{now}</p>
            <div class="row">
                <label>"Max length"<input type="number" min="0" placeholder="∞" bind:value=max_len data-testid="max-length" /></label>
                <label>"Overflow"
                    <select bind:value=overflow data-testid="overflow">
                        <option value="drop-oldest">"drop oldest"</option>
                        <option value="reject-publish">"reject new"</option>
                    </select>
                </label>
                <label>"TTL (s)"<input type="number" min="0" step="0.5" placeholder="none" bind:value=ttl data-testid="ttl" /></label>
            </div>
            <div class="row">
                <label class="check"><input type="checkbox" bind:checked=dead data-testid="dead-letters" />"Dead letters to " <code>{DEAD_LETTERS}</code></label>
                <button type="submit" data-testid="apply-policy">"Apply policy"</button>
            </div>
        </form>
    }
}

/// One consumer's prefetch, ack mode and work time, and a crash button.
#[component]
pub(crate) fn ConsumerControls(sim: SimHandle) -> impl IntoView {
    let consumers = Memo::new(move |_| {
        sim.read_slow(|s| {
            s.queue_names()
                .iter()
                .filter_map(|n| s.queue(n, 0).ok())
                .flat_map(|q| {
                    q.consumers
                        .into_iter()
                        .filter_map(move |c| Some((c.worker?, format!("{} on {}", c.label, q.name), c.settings)))
                })
                .collect::<Vec<(WorkerId, String, ConsumerSettings)>>()
        })
    });
    let Forms { consumer: chosen, prefetch, ack, work, settings_of, .. } = Forms::get();
    let current = move || {
        let id: Option<WorkerId> = num(&chosen.get());
        consumers.with(|list| {
            let chosen = id.and_then(|id| list.iter().find(|c| c.0 == id));
            // None chosen (or it is gone): the lessons' queue first, then any.
            chosen.or_else(|| list.iter().find(|c| c.1.ends_with(LESSONS_QUEUE))).or(list.first()).cloned()
        })
    };
    // Show the chosen consumer's settings in the fields when another is chosen.
    Effect::new(move |_| {
        if let Some((id, _, s)) = current().filter(|c| settings_of.get() != Some(c.0)) {
            settings_of.set(Some(id));
            prefetch.set(s.prefetch.to_string());
            ack.set(if s.ack == AckMode::Manual { "manual" } else { "auto" }.into());
            work.set(s.processing_ms.to_string());
        }
    });
    let target = move || current().map(|c| c.0);
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(id) = target() else { return };
        let settings = ConsumerSettings {
            prefetch: num(&prefetch.get_untracked()).unwrap_or(1),
            ack: if ack.get_untracked() == "auto" { AckMode::Auto } else { AckMode::Manual },
            processing_ms: num(&work.get_untracked()).unwrap_or(0),
        };
        sim.act(|s| s.apply(Action::SetConsumer(id, settings)));
    };
    let crash = move |_| {
        if let Some(id) = target() {
            sim.act(|s| s.apply(Action::Crash(id)));
        }
    };
    let remove = move |_| {
        if let Some(id) = target() {
            sim.act(|s| s.apply(Action::RemoveConsumer(id)));
        }
    };
    view! {
        <form class="group" on:submit=apply aria-labelledby="consumer-h">
            <h3 id="consumer-h">"Consumer"</h3>
            <label>"Consumer"
                <select on:change=move |ev| chosen.set(event_target_value(&ev)) data-testid="control-consumer">
                    {move || consumers.get().into_iter().map(|(id, label, _)| {
                        let selected = target() == Some(id);
                        view! { <option value=id.to_string() selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <div class="row">
                <label>"Prefetch"<input type="number" min="1" max="1000" bind:value=prefetch data-testid="prefetch" /></label>
                <label>"Ack"
                    <select bind:value=ack data-testid="ack">
                        <option value="manual">"manual"</option>
                        <option value="auto">"auto"</option>
                    </select>
                </label>
                <label>"Work (ms)"<input type="number" min="0" step="100" bind:value=work data-testid="processing" /></label>
            </div>
            <div class="row">
                <button type="submit" data-testid="apply-consumer">"Apply"</button>
                <button type="button" class="danger" on:click=crash data-testid="crash-consumer">"Crash it"</button>
                <button type="button" on:click=remove data-testid="remove-consumer"
                    title="It says goodbye: its unacked messages go back to the queue for the others">"Remove it"</button>
            </div>
        </form>
    }
}

/// Cut a device off or bring it back, its rate, remove it; add a device.
#[component]
pub(crate) fn DeviceControls(sim: SimHandle) -> impl IntoView {
    let devices = Memo::new(move |_| {
        sim.read_slow(|s| s.devices().into_iter().map(|d| (d.id, d.name, d.connected, d.rate)).collect::<Vec<_>>())
    });
    let Forms { device: chosen, rate, rate_of, .. } = Forms::get();
    let current = move || devices.with(|list| list.iter().find(|d| d.0 == chosen.get()).cloned());
    Effect::new(move |_| {
        if let Some(d) = current().filter(|d| rate_of.get().as_ref() != Some(&d.0)) {
            rate.set(d.3.to_string());
            rate_of.set(Some(d.0));
        }
    });
    let toggle = move |_| {
        let Some((id, _, connected, _)) = current() else { return };
        sim.act(|s| s.apply(if connected { Action::CutOff(id) } else { Action::Reconnect(id) }));
    };
    let set_rate = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(r) = home_sim::decimal::parse(&rate.get_untracked()) else { return };
        let id = chosen.get_untracked();
        sim.act(|s| s.apply(Action::SetRate(id, r)));
    };
    let remove = move |_| {
        let id = chosen.get_untracked();
        if sim.act(|s| s.apply(Action::RemoveDevice(id))).is_some() {
            chosen.set(sim.peek(|s| s.devices().first().map(|d| d.id.clone()).unwrap_or_default()));
        }
    };
    view! {
        <form class="group" on:submit=set_rate aria-labelledby="device-h">
            <h3 id="device-h">"Device"</h3>
            <div class="row">
                <label class="grow">"Device"
                    <select on:change=move |ev| chosen.set(event_target_value(&ev)) data-testid="control-device">
                        {move || devices.get().into_iter().map(|(id, name, ..)| {
                            let selected = chosen.get() == id;
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" on:click=toggle data-testid="cut-off"
                    title="Drop its connection: the broker publishes its last will">
                    {move || if current().is_some_and(|d| d.2) { "Cut off" } else { "Reconnect" }}
                </button>
                <button type="button" class="danger" on:click=remove data-testid="remove-device"
                    title="It says goodbye; its retained state is cleared and its command queue deleted">"Remove"</button>
            </div>
            <div class="row">
                <label>"Publishes / s"<input type="number" min="0" max="1000" step="0.1" bind:value=rate data-testid="rate" /></label>
                <button type="submit">"Set rate"</button>
            </div>
        </form>
        <NewDevice sim=sim chosen=chosen />
    }
}

/// Adds a device of a kind to a room: it connects with a last will,
/// announces itself, publishes its retained state and, if it obeys
/// commands, consumes its own queue. The new device becomes the chosen one.
#[component]
fn NewDevice(sim: SimHandle, chosen: RwSignal<String>) -> impl IntoView {
    let Forms { kind, room, .. } = Forms::get();
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(k) = DeviceKind::parse(&kind.get_untracked()) else { return };
        let r = room.get_untracked();
        let added = sim.act(|s| {
            let before = s.devices().len();
            s.apply(Action::AddDevice(k, r))?;
            Ok(s.devices().get(before).map(|d| d.id.clone()))
        });
        if let Some(Some(id)) = added {
            chosen.set(id);
        }
    };
    view! {
        <form class="group" on:submit=add aria-labelledby="new-device-h">
            <h3 id="new-device-h">"Add a device"</h3>
            <div class="row">
                <label>"Kind"
                    <select bind:value=kind data-testid="new-device-kind">
                        {DeviceKind::HOUSE.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Room"
                    <select bind:value=room data-testid="new-device-room">
                        {crate::layout::ROOMS.iter().map(|(id, label)| view! { <option value=*id>{*label}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" data-testid="add-device">"Add device"</button>
            </div>
        </form>
    }
}

#[component]
fn AutomationControls(sim: SimHandle) -> impl IntoView {
    let list = Memo::new(move |_| sim.read_slow(|s| s.automations()));
    let add = move |rule: Rule| {
        sim.act(|s| {
            let taken: Vec<String> = s.automations().into_iter().map(|a| a.id).collect();
            let base = rule.name();
            let id = (1..)
                .map(|n| if n == 1 { base.to_string() } else { format!("{base}-{n}") })
                .find(|id| !taken.contains(id))
                .unwrap_or_default();
            s.apply(Action::AddAutomation(id, rule))
        });
    };
    view! {
        <section class="group" aria-labelledby="auto-h">
            <h3 id="auto-h">"Automations"</h3>
            <ul class="automations">
                {move || list.get().into_iter().map(|a| {
                    let (id1, id2) = (a.id.clone(), a.id.clone());
                    let running = a.consumer.is_some();
                    let toggle = move |_| {
                        let id = id1.clone();
                        sim.act(|s| s.apply(if running { Action::PauseAutomation(id) } else { Action::ResumeAutomation(id) }));
                    };
                    let remove = move |_| { sim.act(|s| s.apply(Action::RemoveAutomation(id2.clone()))); };
                    view! {
                        <li class=if running { "automation" } else { "automation paused" } data-testid="automation">
                            <span class="auto-text"><strong>{a.id.clone()}</strong>" — "{a.description}
                                <small>{format!(" · fired {}", a.fired)}</small></span>
                            <button type="button" class="small" on:click=toggle>{if running { "Pause" } else { "Resume" }}</button>
                            <button type="button" class="small danger" on:click=remove aria-label=format!("Remove {}", a.id)>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="row wrap">
                <span class="note">"Add:"</span>
                {Rule::ALL.into_iter().map(|rule| view! {
                    <button type="button" class="small" on:click=move |_| add(rule) title=rule.describe()>{rule.name()}</button>
                }).collect_view()}
            </div>
        </section>
    }
}
