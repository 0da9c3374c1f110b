//! The post-mortem review flow: draft → in_review → published, and back from review to draft
//! when the report needs changes. A published report is final. Pure logic; the service
//! applies it inside its transaction.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Draft,
    InReview,
    Published,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::Draft, Status::InReview, Status::Published];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::InReview => "in_review",
            Status::Published => "published",
        }
    }

    pub fn parse(raw: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

/// What a person does to a report. `Edit` changes sections and keeps the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Edit,
    /// Draft → in review.
    Submit,
    /// In review → draft, for changes.
    Return,
    /// In review → published (managers).
    Publish,
}

impl Step {
    pub const ALL: [Step; 4] = [Step::Edit, Step::Submit, Step::Return, Step::Publish];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Edit => "edit",
            Step::Submit => "submit",
            Step::Return => "return",
            Step::Publish => "publish",
        }
    }
}

/// The status after `step` from `from`, or `None` when the step is not allowed there.
pub fn next(from: Status, step: Step) -> Option<Status> {
    match (from, step) {
        (Status::Draft | Status::InReview, Step::Edit) => Some(from),
        (Status::Draft, Step::Submit) => Some(Status::InReview),
        (Status::InReview, Step::Return) => Some(Status::Draft),
        (Status::InReview, Step::Publish) => Some(Status::Published),
        _ => None,
    }
}

/// The steps that change the status from `from`, in the order the page offers them.
pub fn moves(from: Status) -> Vec<Step> {
    Step::ALL
        .into_iter()
        .filter(|step| *step != Step::Edit && next(from, *step).is_some())
        .collect()
}

/// Why `step` is refused from `from`, naming what is allowed (the 409 message of the API).
pub fn refusal(from: Status, step: Step) -> String {
    if from == Status::Published {
        return "a published post-mortem is final".into();
    }
    let allowed: Vec<String> = moves(from)
        .into_iter()
        .map(|s| format!("{} (to {})", s.as_str(), next(from, s).map_or("", Status::as_str)))
        .collect();
    let hint = if step == Step::Publish && from == Status::Draft {
        "; submit it for review first"
    } else {
        ""
    };
    format!(
        "cannot {} a post-mortem that is {}{hint}; allowed: {}",
        step.as_str(),
        from.as_str(),
        allowed.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publishing_needs_review_and_review_can_go_back_to_draft() {
        use Status::*;
        use Step::*;
        let table = [
            (Draft, Edit, Some(Draft)),
            (Draft, Submit, Some(InReview)),
            (Draft, Return, None),
            (Draft, Publish, None),
            (InReview, Edit, Some(InReview)),
            (InReview, Submit, None),
            (InReview, Return, Some(Draft)),
            (InReview, Publish, Some(Published)),
            (Published, Edit, None),
            (Published, Submit, None),
            (Published, Return, None),
            (Published, Publish, None),
        ];
        for (from, step, expected) in table {
            assert_eq!(next(from, step), expected, "{from:?} {step:?}");
        }
        assert_eq!(moves(Draft), [Submit]);
        assert_eq!(moves(InReview), [Return, Publish]);
        assert!(moves(Published).is_empty());
    }

    #[test]
    fn refusals_name_the_allowed_move() {
        assert_eq!(
            refusal(Status::Draft, Step::Publish),
            "cannot publish a post-mortem that is draft; submit it for review first; allowed: submit (to in_review)"
        );
        assert_eq!(
            refusal(Status::InReview, Step::Submit),
            "cannot submit a post-mortem that is in_review; allowed: return (to draft), publish (to published)"
        );
        assert_eq!(
            refusal(Status::Published, Step::Edit),
            "a published post-mortem is final"
        );
    }

    #[test]
    fn statuses_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        assert_eq!(Status::parse("closed"), None);
    }
}
