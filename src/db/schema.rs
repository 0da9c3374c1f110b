//! The one diesel schema for both backends. Only portable column types are used
//! (BigInt, Integer, Text, Bool, Timestamp); see docs/ARCHITECTURE.md.

diesel::table! {
    teams (id) {
        id -> BigInt,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        role -> Text,
        locale -> Text,
        time_zone -> Text,
        active -> Bool,
        last_login_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        token_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ip -> Text,
        user_agent -> Text,
    }
}

diesel::table! {
    login_attempts (id) {
        id -> BigInt,
        attempted_at -> Timestamp,
        email -> Text,
        ip -> Text,
        succeeded -> Bool,
    }
}

diesel::table! {
    app_flags (name) {
        name -> Text,
        set_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        actor_label -> Text,
        action -> Text,
        entity_type -> Text,
        entity_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
        ip -> Nullable<Text>,
        prev_hash -> Nullable<Text>,
        row_hash -> Nullable<Text>,
    }
}

diesel::table! {
    audit_verifications (id) {
        id -> BigInt,
        started_at -> Timestamp,
        finished_at -> Timestamp,
        intact -> Bool,
        rows_checked -> BigInt,
        broken_id -> Nullable<BigInt>,
        detail -> Nullable<Text>,
        last_id -> Nullable<BigInt>,
        last_hash -> Nullable<Text>,
        started_by -> Text,
    }
}

diesel::table! {
    ticket_sequences (kind) {
        kind -> Text,
        last_value -> BigInt,
    }
}

diesel::table! {
    tickets (id) {
        id -> BigInt,
        kind -> Text,
        number -> BigInt,
        reference -> Text,
        title -> Text,
        description -> Text,
        status -> Text,
        priority -> Text,
        team_id -> Nullable<BigInt>,
        assignee_id -> Nullable<BigInt>,
        reporter_id -> Nullable<BigInt>,
        version -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        closed_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
    }
}

// The facts of a ticket the SLA engine runs on, written by each kind's use cases.
diesel::table! {
    ticket_facts (ticket_id) {
        ticket_id -> BigInt,
        category -> Text,
        service -> Text,
        started_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
    }
}

// Archived tickets: kept, but out of lists and search unless asked (issue 19).
diesel::table! {
    ticket_archive (ticket_id) {
        ticket_id -> BigInt,
        archived_at -> Timestamp,
    }
}

// A ticket's normalised text and its one- and two-character grams (`tickets::search`).
diesel::table! {
    ticket_search (ticket_id) {
        ticket_id -> BigInt,
        body -> Text,
        grams -> Text,
    }
}

diesel::table! {
    incidents (ticket_id) {
        ticket_id -> BigInt,
        impact -> Text,
        urgency -> Text,
        channel -> Text,
        category -> Text,
        service -> Text,
        reported_at -> Timestamp,
        escalation_level -> Integer,
        hold_reason -> Nullable<Text>,
        held_from -> Nullable<Text>,
        workaround -> Nullable<Text>,
        resolution -> Nullable<Text>,
        resolution_kind -> Nullable<Text>,
        acknowledged_at -> Nullable<Timestamp>,
        mitigated_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ticket_events (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        kind -> Text,
        visibility -> Text,
        body -> Text,
        data -> Nullable<Text>,
    }
}

diesel::table! {
    problems (ticket_id) {
        ticket_id -> BigInt,
        root_cause -> Text,
        contributing_factors -> Text,
        five_whys -> Text,
        workaround -> Text,
        resolution -> Text,
        fix_due_on -> Nullable<Text>,
        known_error_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    ticket_links (id) {
        id -> BigInt,
        from_ticket_id -> BigInt,
        to_ticket_id -> BigInt,
        kind -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    postmortems (id) {
        id -> BigInt,
        incident_id -> BigInt,
        status -> Text,
        sections -> Text,
        impact_started_at -> Timestamp,
        impact_mitigated_at -> Nullable<Timestamp>,
        impact_resolved_at -> Nullable<Timestamp>,
        version -> Integer,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    action_items (id) {
        id -> BigInt,
        postmortem_id -> BigInt,
        title -> Text,
        owner_id -> BigInt,
        due_on -> Text,
        status -> Text,
        problem_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        done_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        ticket_id -> BigInt,
        filename -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        uploaded_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    calendars (id) {
        id -> BigInt,
        name -> Text,
        time_zone -> Text,
        week -> Text,
        japanese_holidays -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    calendar_closures (id) {
        id -> BigInt,
        calendar_id -> BigInt,
        starts_on -> Text,
        ends_on -> Text,
        name -> Text,
    }
}

diesel::table! {
    sla_policies (id) {
        id -> BigInt,
        name -> Text,
        position -> Integer,
        active -> Bool,
        kind -> Text,
        priorities -> Text,
        category -> Nullable<Text>,
        team_id -> Nullable<BigInt>,
        response_minutes -> Nullable<Integer>,
        resolution_minutes -> Nullable<Integer>,
        calendar_id -> BigInt,
        warn_percent -> Integer,
        mitigation_stops_resolution -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ticket_sla (ticket_id) {
        ticket_id -> BigInt,
        policy_id -> Nullable<BigInt>,
        response_due_at -> Nullable<Timestamp>,
        response_met_at -> Nullable<Timestamp>,
        response_breached -> Bool,
        response_elapsed_minutes -> BigInt,
        resolution_due_at -> Nullable<Timestamp>,
        resolution_met_at -> Nullable<Timestamp>,
        resolution_breached -> Bool,
        resolution_elapsed_minutes -> BigInt,
        paused -> Bool,
        computed_at -> Timestamp,
        response_warn_at -> Nullable<Timestamp>,
        resolution_warn_at -> Nullable<Timestamp>,
        next_escalation_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sla_recompute_queue (ticket_id) {
        ticket_id -> BigInt,
    }
}

diesel::table! {
    sla_settings_token (id) {
        id -> Integer,
        token -> BigInt,
    }
}

diesel::table! {
    sla_alerts (ticket_id, clock, kind) {
        ticket_id -> BigInt,
        clock -> Text,
        kind -> Text,
        fired_at -> Timestamp,
    }
}

diesel::table! {
    escalation_rules (id) {
        id -> BigInt,
        team_id -> BigInt,
        clock -> Text,
        kind -> Text,
        notify -> Text,
        escalate_to_team_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        position -> Integer,
        delay_minutes -> Nullable<Integer>,
        to_level -> Nullable<Integer>,
    }
}

diesel::table! {
    escalation_firings (ticket_id, rule_id) {
        ticket_id -> BigInt,
        rule_id -> BigInt,
        fired_at -> Timestamp,
        to_team_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        ticket_id -> Nullable<BigInt>,
        kind -> Text,
        body -> Text,
        created_at -> Timestamp,
        read_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (user_id, idempotency_key) {
        user_id -> BigInt,
        idempotency_key -> Text,
        fingerprint -> Text,
        status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        location -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    storage_usage (id) {
        id -> Integer,
        bytes -> BigInt,
    }
}

diesel::table! {
    backup_settings (id) {
        id -> Integer,
        enabled -> Bool,
        time_of_day -> Text,
        time_zone -> Text,
        target_dir -> Text,
        keep_daily -> Integer,
        keep_weekly -> Integer,
        alert_team_id -> Nullable<BigInt>,
        failure_incident_id -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    backup_runs (id) {
        id -> BigInt,
        kind -> Text,
        slot_at -> Nullable<Timestamp>,
        holder -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        archive_path -> Nullable<Text>,
        size_bytes -> Nullable<BigInt>,
        duration_ms -> Nullable<BigInt>,
        result -> Text,
        verification -> Text,
        error -> Nullable<Text>,
        pruned_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_leases (name) {
        name -> Text,
        holder -> Nullable<Text>,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    retention_periods (name) {
        name -> Text,
        days -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    retention_runs (id) {
        id -> BigInt,
        holder -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        counts -> Text,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    audit_prune_anchors (id) {
        id -> BigInt,
        pruned_through_id -> BigInt,
        last_hash -> Text,
        pruned_at -> Timestamp,
    }
}

diesel::table! {
    mail_inbound (id) {
        id -> BigInt,
        received_at -> Timestamp,
        received_by -> Nullable<BigInt>,
        sha256 -> Text,
        from_address -> Text,
        from_name -> Text,
        subject -> Text,
        message_id -> Text,
        team_id -> Nullable<BigInt>,
        requested_action -> Text,
        state -> Text,
        outcome -> Text,
        reason -> Text,
        ticket_id -> Nullable<BigInt>,
        no_auto_reply -> Bool,
        error -> Text,
    }
}

diesel::table! {
    ci_classes (id) {
        id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    cis (id) {
        id -> BigInt,
        class_id -> BigInt,
        name -> Text,
        environment -> Text,
        criticality -> Integer,
        status -> Text,
        owner_team_id -> Nullable<BigInt>,
        location -> Text,
        host_name -> Text,
        ip_addresses -> Text,
        software_name -> Text,
        software_version -> Text,
        support_ends_on -> Nullable<Text>,
        version -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    ci_details (ci_id) {
        ci_id -> BigInt,
        os_family -> Text,
        os_release -> Text,
        vendor -> Text,
        attributes -> Text,
        notes -> Text,
    }
}

diesel::table! {
    ci_redundancy_groups (id) {
        id -> BigInt,
        from_id -> BigInt,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ci_relationships (id) {
        id -> BigInt,
        from_id -> BigInt,
        to_id -> BigInt,
        kind -> Text,
        redundancy_group_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_cis (ticket_id, ci_id) {
        ticket_id -> BigInt,
        ci_id -> BigInt,
        added_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ticket_requesters (ticket_id) {
        ticket_id -> BigInt,
        user_id -> Nullable<BigInt>,
        email -> Nullable<Text>,
    }
}

diesel::table! {
    ticket_watchers (ticket_id, user_id) {
        ticket_id -> BigInt,
        user_id -> BigInt,
        added_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    mail_outbox (id) {
        id -> BigInt,
        recipient -> Text,
        ticket_id -> Nullable<BigInt>,
        ticket_reference -> Nullable<Text>,
        event -> Text,
        subject -> Text,
        message_id -> Nullable<Text>,
        token -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_holder -> Nullable<Text>,
        lease_expires_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mail_messages (mail_id) {
        mail_id -> BigInt,
        recipient_name -> Text,
        user_id -> Nullable<BigInt>,
        locale -> Text,
        time_zone -> Text,
        body -> Text,
        message -> Nullable<Text>,
    }
}

diesel::table! {
    mail_attempts (id) {
        id -> BigInt,
        mail_id -> BigInt,
        attempted_at -> Timestamp,
        ok -> Bool,
        reply -> Text,
    }
}

diesel::table! {
    mail_preferences (user_id, event) {
        user_id -> BigInt,
        event -> Text,
        enabled -> Bool,
    }
}

diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(calendar_closures -> calendars (calendar_id));
diesel::joinable!(sla_policies -> calendars (calendar_id));
diesel::joinable!(ticket_sla -> tickets (ticket_id));
diesel::joinable!(notifications -> tickets (ticket_id));
diesel::joinable!(ticket_sla -> sla_policies (policy_id));
diesel::joinable!(action_items -> postmortems (postmortem_id));
diesel::joinable!(problems -> tickets (ticket_id));
diesel::joinable!(incidents -> tickets (ticket_id));
diesel::joinable!(ticket_search -> tickets (ticket_id));
diesel::joinable!(ticket_facts -> tickets (ticket_id));
diesel::joinable!(ticket_archive -> tickets (ticket_id));
diesel::joinable!(ticket_events -> tickets (ticket_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(escalation_firings -> escalation_rules (rule_id));

diesel::joinable!(cis -> ci_classes (class_id));
diesel::joinable!(cis -> teams (owner_team_id));
diesel::joinable!(ci_details -> cis (ci_id));
diesel::joinable!(ticket_cis -> cis (ci_id));
diesel::joinable!(ticket_cis -> tickets (ticket_id));

diesel::joinable!(ticket_watchers -> tickets (ticket_id));
diesel::joinable!(ticket_requesters -> tickets (ticket_id));

diesel::joinable!(mail_attempts -> mail_outbox (mail_id));
diesel::joinable!(mail_messages -> mail_outbox (mail_id));

diesel::allow_tables_to_appear_in_same_query!(
    teams,
    users,
    team_members,
    api_tokens,
    sessions,
    login_attempts,
    app_flags,
    audit_log,
    audit_verifications,
    ticket_sequences,
    tickets,
    ticket_search,
    ticket_facts,
    ticket_archive,
    incidents,
    ticket_events,
    problems,
    ticket_links,
    postmortems,
    action_items,
    attachments,
    calendars,
    calendar_closures,
    sla_policies,
    ticket_sla,
    sla_alerts,
    escalation_rules,
    escalation_firings,
    notifications,
    backup_settings,
    backup_runs,
    job_leases,
    retention_periods,
    retention_runs,
    audit_prune_anchors,
    mail_inbound,
    ci_classes,
    cis,
    ci_details,
    ci_redundancy_groups,
    ci_relationships,
    ticket_cis,
    ticket_watchers,
    ticket_requesters,
    mail_outbox,
    mail_messages,
    mail_attempts,
    mail_preferences,
);
