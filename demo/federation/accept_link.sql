-- At a twin (or 3rd-party) system: accept the link of system :caller.
-- Its login is a dtmv_gateway login, neither superuser nor owner, that
-- logs in with a password; the system subject it maps to stands for that
-- system, and dtmv.act_for_link lets it act only as <user>@<caller>.
-- (Played by systems.sql, which sets caller, caller_kind and caller_no.)
SELECT :'caller' || '_link' AS login \gset
CREATE ROLE :"login" LOGIN PASSWORD :'link_pw' IN ROLE dtmv_gateway;
SELECT dtmv.create_subject(:'caller' || ' link', :'login', 'system') IS NOT NULL AS subject_made \gset
SELECT dtmv.register_system(:'caller', :'caller_kind', :caller_no, link => :'caller' || ' link') IS NOT NULL AS registered \gset
