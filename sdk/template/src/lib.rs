//! `acme-tasks`: a template Weft connector for the (fictional) Acme Tasks
//! REST API. `weft connector new NAME` copies this crate under your name;
//! `sdk/WALKTHROUGH.md` explains every part of it.
//!
//! It has three blocks:
//!
//! * `list-tasks`: `GET /tasks`, optionally filtered by status, following
//!   `Link` pagination; returns `{ "tasks": [...] }`, ready for a loop.
//! * `create-task`: `POST /tasks` with a JSON body; returns the new task.
//! * `summarize`: no HTTP at all, counts tasks by status. The simplest
//!   kind of block: a pure function from input to output.

use std::collections::BTreeMap;
use weft_sdk::prelude::*;

/// Where the real Acme Tasks API lives.
const DEFAULT_BASE_URL: &str = "https://api.acme-tasks.example";

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_string()
}

/// `{base_url}/{path}`, tolerating a trailing slash on the base.
fn endpoint(base_url: &str, path: &str) -> String {
    format!("{}/{path}", base_url.trim_end_matches('/'))
}

/// A task as the Acme Tasks API returns it, and as these blocks output it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Task {
    pub id: String,
    pub title: String,
    /// `open`, `in-progress` or `done`.
    pub status: String,
    /// Due date (`YYYY-MM-DD`), if the task has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

// ---------------------------------------------------------------------------
// list-tasks
// ---------------------------------------------------------------------------

/// The statuses a task can have.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not started.
    Open,
    /// Someone is on it.
    InProgress,
    /// Finished.
    Done,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in-progress",
            Status::Done => "done",
        }
    }
}

fn default_max_pages() -> usize {
    5
}

#[derive(Deserialize, JsonSchema)]
pub struct ListTasksInput {
    /// Only return tasks with this status. All tasks when omitted.
    #[serde(default)]
    pub status: Option<Status>,
    /// At most this many pages of 100 tasks are fetched; when there are
    /// more, `next` in the output says where to go on.
    #[serde(default = "default_max_pages")]
    pub max_pages: usize,
    /// Base URL of the Acme Tasks API. Only hosts the connector declares
    /// and the operator grants are reachable, whatever is written here.
    #[serde(default = "default_base_url")]
    pub base_url: String,
}

#[derive(Serialize, JsonSchema)]
pub struct ListTasksOutput {
    pub tasks: Vec<Task>,
    /// The URL of the first page not fetched, when `max_pages` stopped
    /// the listing early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// What `GET /tasks` answers. Kept private: the block's output is ours to
/// shape, independent of the API's envelope.
#[derive(Deserialize)]
struct TaskPage {
    data: Vec<Task>,
}

fn list_tasks(_ctx: &Context, input: ListTasksInput) -> Result<ListTasksOutput, BlockError> {
    // The API pages with `Link: <…?page=2>; rel="next"` headers;
    // `collect_pages` follows them, at most `max_pages` times.
    let listing = paging::collect_pages(input.max_pages, |next| {
        let request = match next {
            Some(url) => Request::get(url),
            None => {
                let mut first =
                    Request::get(endpoint(&input.base_url, "tasks")).query("per_page", "100");
                if let Some(status) = input.status {
                    first = first.query("status", status.as_str());
                }
                first
            }
        };
        // A 429 with a short Retry-After is waited out here (within the
        // default time budget); a longer one becomes a rate-limited error
        // that the engine retries later. `error_for_status()?` turns 4xx/5xx
        // answers into typed block errors (404 → not-found, 5xx → transient).
        let response = retry::send_patiently(
            request.header("accept", "application/json"),
            retry::DEFAULT_BUDGET,
        )?
        .error_for_status()?;
        let next = response.next_link();
        let page: TaskPage = response.json()?;
        Ok(Page {
            items: page.data,
            next,
        })
    })?;
    log::info(format!(
        "fetched {} task(s) in {} page(s)",
        listing.items.len(),
        listing.pages
    ));
    Ok(ListTasksOutput {
        tasks: listing.items,
        next: listing.next,
    })
}

// ---------------------------------------------------------------------------
// create-task
// ---------------------------------------------------------------------------

#[derive(Deserialize, JsonSchema)]
pub struct CreateTaskInput {
    /// What needs doing.
    pub title: String,
    /// Due date, `YYYY-MM-DD`.
    #[serde(default)]
    pub due: Option<String>,
    /// Base URL of the Acme Tasks API.
    #[serde(default = "default_base_url")]
    pub base_url: String,
}

/// The body `POST /tasks` expects.
#[derive(Serialize)]
struct NewTask<'a> {
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    due: Option<&'a str>,
}

fn create_task(ctx: &Context, input: CreateTaskInput) -> Result<Task, BlockError> {
    let title = input.title.trim();
    if title.is_empty() {
        return Err(BlockError::invalid_input("`title` must not be empty"));
    }
    let body = NewTask {
        title,
        due: input.due.as_deref(),
    };
    // The same step of the same run sends the same key on every retry, so
    // a retried create never makes a duplicate task.
    let idempotency_key = format!("{}-{}", ctx.run_id, ctx.step_id);
    let task = Request::post(endpoint(&input.base_url, "tasks"))
        .header("idempotency-key", idempotency_key)
        .json(&body)?
        .send()?
        .error_for_status()?
        .json()?;
    Ok(task)
}

// ---------------------------------------------------------------------------
// summarize
// ---------------------------------------------------------------------------

/// Only the field `summarize` needs; whole tasks (e.g. the output of
/// `list-tasks`) fit too, because unknown fields are ignored.
#[derive(Deserialize, JsonSchema)]
pub struct TaskStatus {
    pub status: String,
}

#[derive(Deserialize, JsonSchema)]
pub struct SummarizeInput {
    pub tasks: Vec<TaskStatus>,
}

#[derive(Serialize, JsonSchema)]
pub struct SummarizeOutput {
    pub total: usize,
    /// Number of tasks per status.
    pub by_status: BTreeMap<String, usize>,
}

fn summarize(_ctx: &Context, input: SummarizeInput) -> Result<SummarizeOutput, BlockError> {
    let mut by_status = BTreeMap::new();
    for task in &input.tasks {
        *by_status.entry(task.status.clone()).or_insert(0) += 1;
    }
    Ok(SummarizeOutput {
        total: input.tasks.len(),
        by_status,
    })
}

// ---------------------------------------------------------------------------
// The connector
// ---------------------------------------------------------------------------

weft_sdk::connector! {
    id: "acme-tasks",
    name: "Acme Tasks",
    description: "List and create tasks in Acme Tasks, and summarize task lists.",
    hosts: [
        "https://api.acme-tasks.example",
        // Only for the fake API in tests/blocks.rs. Declaring a host
        // does not make it reachable: the operator's grant decides that, and
        // loopback addresses additionally need to be named in it explicitly.
        // Drop this line if your connector does not need it.
        "http://127.0.0.1:*",
    ],
    auth: [Auth::Bearer],
    blocks: [
        list_tasks => ("list-tasks", "List tasks", "Lists tasks, optionally only those with a given status."),
        create_task => ("create-task", "Create task", "Creates a task with a title and an optional due date."),
        summarize => ("summarize", "Summarize tasks", "Counts tasks by status."),
    ],
}
