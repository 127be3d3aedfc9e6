-- The PIN lockout counts a phone's recent wrong-PIN refusals on every command from a cadre
-- with a PIN (src/appeals/commands.rs); without this the count scans the whole event log.
CREATE INDEX events_actor_kind_at ON events (actor, kind, at);
