-- Refusing grants (docs/rights.md, "Refusing grants"): a grant puts a
-- twin's events in the grantee's stream, and anybody may grant on their
-- own twins to anybody. The grantee refuses them on a twin or a space: what
-- was granted there goes, later grants fail, denials stay.
SET search_path = public, dtmv;
\set SHOW_CONTEXT never
CREATE ROLE regress_rf_alice LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_rf_mallory LOGIN IN ROLE dtmv_user;
CREATE ROLE regress_rf_mv LOGIN IN ROLE dtmv_gateway;
SELECT count(*) FROM (VALUES
	(dtmv.create_subject('rf_alice', 'regress_rf_alice')),
	(dtmv.create_subject('rf_mallory', 'regress_rf_mallory')),
	(dtmv.create_subject('rf_mv', 'regress_rf_mv', 'system'))) s;
SELECT subject_id AS alice FROM dtmv.subjects WHERE name = 'rf_alice' \gset
SELECT dtmv.create_group('rf_family') IS NOT NULL AS family, dtmv.add_member('rf_family', 'rf_alice');

-- A stranger pushes two of her twins, and a site, onto alice.
SET ROLE regress_rf_mallory;
SELECT dtmv.create_twin('lamp', 'Spam lamp 1') AS spam1 \gset
SELECT dtmv.create_twin('lamp', 'Spam lamp 2') AS spam2 \gset
SELECT dtmv.create_twin('lamp', 'Spam lamp 3') AS spam3 \gset
SELECT dtmv.create_space('rf spam site', 'site', anchor_lon => 4.85, anchor_lat => 45.75) AS site \gset
SELECT dtmv.place(:'spam3', :site, ST_MakePoint(1, 1, 0)) IS NOT NULL AS placed;
SELECT dtmv.grant(:'spam1', 'rf_alice', 'read'), dtmv.grant(:'spam2', 'rf_alice', 'read');
SELECT dtmv.revoke(:'spam2', 'rf_alice', 'interact');	-- a denial, which refusing must not lift
SELECT dtmv.grant_space(:site, 'rf_alice', 'read');
RESET ROLE;
SELECT dtmv.event_horizon() AS before_spam \gset
SELECT count(dtmv._append_event(t, NULL, 'spam', '{}')) AS spam_events
  FROM unnest(ARRAY[:'spam1', :'spam2', :'spam3']::dtmv.twin_id[]) t;
SELECT count(*) > 0 AS ordered FROM dtmv._order_events(10000, false);
SELECT (SELECT count(*) FROM unnest(ARRAY[:'spam1', :'spam2', :'spam3']::dtmv.twin_id[]) t
		 WHERE dtmv._channel('s', :alice) = ANY (dtmv_test._event_channels(t, NULL))) AS spam_wakes_alice;
SET ROLE regress_rf_alice;
SELECT count(*) AS alice_sees_spam FROM dtmv.twins WHERE name LIKE 'Spam%';
SELECT count(*) AS spam_in_her_stream FROM dtmv.events_since(:before_spam) WHERE kind = 'spam';

-- Alice refuses them: each twin and the site leave her view, her stream and
-- the wake-ups at once.
SELECT dtmv.refuse_grants(:'spam1'), dtmv.refuse_grants(:'spam2'), dtmv.refuse_space_grants(:site);
SELECT count(*) AS alice_sees_spam FROM dtmv.twins WHERE name LIKE 'Spam%';
SELECT count(*) AS spam_in_her_stream FROM dtmv.events_since(:before_spam) WHERE kind = 'spam';
RESET ROLE;
SELECT (SELECT count(*) FROM unnest(ARRAY[:'spam1', :'spam2', :'spam3']::dtmv.twin_id[]) t
		 WHERE dtmv._channel('s', :alice) = ANY (dtmv_test._event_channels(t, NULL))) AS spam_wakes_alice;
-- What stays is the refusal and the denial: nothing granted.
SELECT g.twin = :'spam2' AS on_spam2, g.space_id = :site AS on_site, dtmv._rights_text(g.granted) AS granted,
	   dtmv._rights_text(g.revoked) AS revoked, g.refused
  FROM dtmv.grants g WHERE g.subject_id = :alice ORDER BY g.twin IS NULL, g.twin = :'spam1';

-- A refusal denies her every right there, as a revoke does: a grant to her
-- group brings nothing back.
SET ROLE regress_rf_mallory;
SELECT dtmv.grant(:'spam1', 'rf_family', 'read');
SET ROLE regress_rf_alice;
SELECT count(*) AS alice_sees_spam FROM dtmv.twins WHERE name LIKE 'Spam%';
SELECT dtmv.has_right(:'spam1', 'discover') AS alice_discovers_spam1;
-- Mallory cannot grant again, on the twins or the site; clearing alice's
-- rights does not clear her refusal; revoking still works.
SET ROLE regress_rf_mallory;
SELECT dtmv_test.attempt(format('SELECT dtmv.grant(%L, ''rf_alice'', ''discover'')', :'spam1'));
SELECT dtmv_test.attempt(format('SELECT dtmv.grant_space(%s, ''rf_alice'', ''read'')', :site));
SELECT dtmv.clear_rights(:'spam1', 'rf_alice'), dtmv.clear_space_rights(:site, 'rf_alice');
SELECT dtmv_test.attempt(format('SELECT dtmv.grant(%L, ''rf_alice'', ''read'')', :'spam1'));
SELECT dtmv_test.attempt(format('SELECT dtmv.grant_space(%s, ''rf_alice'', ''read'')', :site));
SELECT dtmv.revoke(:'spam1', 'rf_alice', 'read');
RESET ROLE;
SELECT count(*) AS refusals, count(*) FILTER (WHERE revoked <> 0) AS with_denial
  FROM dtmv.grants g WHERE g.subject_id = :alice AND g.refused;

-- Refusing takes no more than discover: a twin alice may not see (spam3,
-- only on the site she refused) and one that does not exist look alike.
SET ROLE regress_rf_alice;
SELECT dtmv_test.attempt(format('SELECT dtmv.refuse_grants(%L)', :'spam3'));
SELECT dtmv_test.attempt($$SELECT dtmv.refuse_grants('01a22e1f-9a3e-861e-8b26-2c19dc9324f9')$$);
SELECT dtmv_test.attempt($$SELECT dtmv.refuse_space_grants(-1)$$);
-- ... and on a twin she refused she cannot discover, she accepts again.
SELECT dtmv_test.attempt(format('SELECT dtmv.accept_grants(%L)', :'spam3'));

-- Her own twin, and a site she created, she does not refuse: it would deny her own admin.
SELECT dtmv.create_twin('lamp', 'Her lamp') AS own \gset
SELECT dtmv.create_space('rf her site', 'site', anchor_lon => 4.85, anchor_lat => 45.75) AS own_site \gset
SELECT dtmv_test.attempt(format('SELECT dtmv.refuse_grants(%L)', :'own'));
SELECT dtmv_test.attempt(format('SELECT dtmv.refuse_space_grants(%s)', :own_site));

-- A service acting for her refuses nothing unless she delegated admin.
SELECT dtmv.delegate('rf_mv', 'discover,read');
SET ROLE regress_rf_mv;
BEGIN;
SELECT dtmv.act_as('rf_alice');
SELECT dtmv_test.attempt(format('SELECT dtmv.accept_grants(%L)', :'spam2'));
ROLLBACK;

-- Alice accepts the second twin's grants again: mallory's grant works (the
-- denial of interact is still there), the first twin stays refused.
SET ROLE regress_rf_alice;
SELECT dtmv.accept_grants(:'spam2'), dtmv.accept_space_grants(:site);
SET ROLE regress_rf_mallory;
SELECT dtmv.grant(:'spam2', 'rf_alice', 'read'), dtmv.grant_space(:site, 'rf_alice', 'read');
SET ROLE regress_rf_alice;
SELECT name, dtmv.my_rights(id) FROM dtmv.twins WHERE name LIKE 'Spam%' ORDER BY name;
SELECT dtmv.my_rights(:'spam1') AS spam1_still_refused;
RESET ROLE;
SELECT count(*) AS refusals_left FROM dtmv.grants g WHERE g.subject_id = :alice AND g.refused;
