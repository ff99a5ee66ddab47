//! The dashboard's entry point: mount the app on `<body>`, nothing else.

fn main() {
    leptos::mount::mount_to_body(frontend::App);
}
