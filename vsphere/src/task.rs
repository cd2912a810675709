//! vSphere tasks: poll `Task.info` until it succeeds or fails, reporting progress.

use crate::client::Client;
use crate::soap::{child, find, method_fault, moref, text, MoRef, Response};
use crate::{Error, Result};
use std::time::Duration;

/// What one read of `Task.info` said.
#[derive(Debug, PartialEq, Eq)]
pub enum TaskState {
    Running(Option<u32>),
    Success(Option<MoRef>),
    Failed(String, String),
}

/// Parses the `info` property of a task from a RetrievePropertiesEx answer.
pub fn parse_info(r: &Response) -> Result<TaskState> {
    let doc = r.doc()?;
    let info =
        find(doc.root(), "val").ok_or_else(|| Error::Unexpected("the task has no info".into()))?;
    let state = text(info, "state").unwrap_or_default();
    Ok(match state.as_str() {
        "success" => TaskState::Success(child(info, "result").and_then(moref)),
        "error" => match child(info, "error").map(method_fault) {
            Some(Error::Fault { fault, message }) => TaskState::Failed(fault, message),
            _ => TaskState::Failed("TaskError".into(), "the task failed".into()),
        },
        "queued" | "running" => {
            TaskState::Running(text(info, "progress").and_then(|p| p.parse().ok()))
        }
        other => return Err(Error::Unexpected(format!("task state '{other}'"))),
    })
}

/// Waits for `task` to end; `on_progress` sees its percentage. Returns the task's result
/// reference (the new VM of a clone) or the task's fault as an error.
pub fn wait(
    c: &Client,
    task: &MoRef,
    timeout: Duration,
    mut on_progress: impl FnMut(u32),
) -> Result<Option<MoRef>> {
    use plumbing::poll::{until, Poll};
    let done = until(timeout, Duration::from_secs(2), || {
        let page = c
            .retrieve(std::slice::from_ref(task), &["info"])?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Unexpected("no answer for the task".into()))?;
        match parse_info(&page)? {
            TaskState::Success(r) => Ok(Poll::Ready(r)),
            TaskState::Failed(fault, message) => Err(Error::Fault { fault, message }),
            TaskState::Running(p) => {
                on_progress(p.unwrap_or(0));
                Ok(Poll::NotYet)
            }
        }
    })?;
    done.ok_or_else(|| {
        Error::Http(format!(
            "task {} still running after {} s",
            task.value,
            timeout.as_secs()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(body: &str) -> Response {
        Response {
            xml: format!(
                r#"<Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><returnval><objects><propSet><name>info</name><val xsi:type="TaskInfo">{body}</val></propSet></objects></returnval></Envelope>"#
            ),
        }
    }

    #[test]
    fn task_states_are_read() {
        assert_eq!(
            parse_info(&info("<state>running</state><progress>40</progress>")).unwrap(),
            TaskState::Running(Some(40))
        );
        assert_eq!(
            parse_info(&info(
                r#"<state>success</state><result type="VirtualMachine">vm-7</result>"#
            ))
            .unwrap(),
            TaskState::Success(Some(MoRef::new("VirtualMachine", "vm-7")))
        );
        assert_eq!(
            parse_info(&info(
                r#"<state>error</state><error><fault xsi:type="DuplicateName"/><localizedMessage>The name 'a' already exists.</localizedMessage></error>"#
            ))
            .unwrap(),
            TaskState::Failed("DuplicateName".into(), "The name 'a' already exists.".into())
        );
        let e = parse_info(&info("<state>odd</state>")).unwrap_err();
        assert_eq!(e.to_string(), "task state 'odd'");
    }
}
