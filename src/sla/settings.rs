//! The SLA settings every clock is computed from (policies, calendars with their closures, the
//! teams' escalation levels) as one snapshot per process.
//!
//! Reading an incident or creating one needs all of them, and they change only through the
//! admin pages. Database triggers give the settings a new random token whenever any of those
//! tables changes (migration 000015), so a snapshot is reused while the token stays the same:
//! one one-row query instead of four, and an edit on any server is seen on the next request.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use diesel::prelude::*;

use super::model::{CalendarRow, Closure, EscalationRule, Policy};
use crate::db::schema::{calendar_closures, calendars, escalation_rules, sla_policies, sla_settings_token};
use crate::db::DbConnection;

/// What the clocks of every ticket are computed from, as of one token.
#[derive(Debug, Default)]
pub struct Settings {
    /// Every policy (active or not), in the order they are tried.
    policies: Vec<Policy>,
    calendars: HashMap<i64, CalendarRow>,
    /// Per calendar, its closures by start date.
    closures: HashMap<i64, Vec<Closure>>,
    /// Per team, its escalation levels in order.
    escalation: HashMap<i64, Vec<EscalationRule>>,
}

impl Settings {
    /// The first active policy covering a ticket with these fields.
    pub fn policy_for(&self, kind: &str, priority: &str, category: &str, team_id: Option<i64>) -> Option<&Policy> {
        self.policies
            .iter()
            .find(|p| p.matches(kind, priority, category, team_id))
    }

    /// A policy by id, active or not (stored clocks name the policy they were computed under).
    pub fn policy(&self, id: i64) -> Option<&Policy> {
        self.policies.iter().find(|p| p.id == id)
    }

    pub fn calendar(&self, id: i64) -> Option<&CalendarRow> {
        self.calendars.get(&id)
    }

    pub fn closures(&self, calendar_id: i64) -> &[Closure] {
        self.closures.get(&calendar_id).map_or(&[], Vec::as_slice)
    }

    /// A team's delay levels (`unacknowledged`, `unresolved`) in order.
    pub fn delay_rules(&self, team_id: i64) -> impl Iterator<Item = &EscalationRule> {
        self.escalation
            .get(&team_id)
            .into_iter()
            .flatten()
            .filter(|rule| rule.is_delay())
    }

    fn load(conn: &mut DbConnection) -> QueryResult<Self> {
        let policies = sla_policies::table
            .order((sla_policies::position, sla_policies::id))
            .select(Policy::as_select())
            .load(conn)?;
        let calendars = calendars::table
            .select(CalendarRow::as_select())
            .load(conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let mut closures: HashMap<i64, Vec<Closure>> = HashMap::new();
        for closure in calendar_closures::table
            .order((calendar_closures::starts_on, calendar_closures::id))
            .select(Closure::as_select())
            .load::<Closure>(conn)?
        {
            closures.entry(closure.calendar_id).or_default().push(closure);
        }
        let mut escalation: HashMap<i64, Vec<EscalationRule>> = HashMap::new();
        for rule in escalation_rules::table
            .order((escalation_rules::position, escalation_rules::id))
            .select(EscalationRule::as_select())
            .load::<EscalationRule>(conn)?
        {
            escalation.entry(rule.team_id).or_default().push(rule);
        }
        Ok(Self {
            policies,
            calendars,
            closures,
            escalation,
        })
    }
}

/// Snapshots by token. More than one because one process may serve several databases (the
/// tests do); cleared when it grows past this.
const SNAPSHOTS_KEPT: usize = 16;

static SNAPSHOTS: LazyLock<Mutex<HashMap<i64, Arc<Settings>>>> = LazyLock::new(Default::default);

/// The settings as they stand in the database `conn` reads (inside a transaction: as that
/// transaction sees them, its own uncommitted changes included).
pub fn current(conn: &mut DbConnection) -> QueryResult<Arc<Settings>> {
    let token = token(conn)?;
    let kept = SNAPSHOTS.lock().unwrap_or_else(|e| e.into_inner()).get(&token).cloned();
    if let Some(settings) = kept {
        return Ok(settings);
    }
    let mut token = token;
    // The four loads are separate statements: a change committed between them would give a
    // mixed snapshot. Load until the token is the same after as before (an admin saving twice
    // in those milliseconds is rare; the third snapshot is used even then, and not kept).
    for _ in 0..3 {
        let settings = Arc::new(Settings::load(conn)?);
        let after = self::token(conn)?;
        if after == token {
            let mut snapshots = SNAPSHOTS.lock().unwrap_or_else(|e| e.into_inner());
            if snapshots.len() >= SNAPSHOTS_KEPT {
                snapshots.clear();
            }
            snapshots.insert(token, Arc::clone(&settings));
            return Ok(settings);
        }
        token = after;
    }
    Ok(Arc::new(Settings::load(conn)?))
}

fn token(conn: &mut DbConnection) -> QueryResult<i64> {
    crate::native!(conn, |c| {
        sla_settings_token::table
            .find(1)
            .select(sla_settings_token::token)
            .first(c)
    })
}
