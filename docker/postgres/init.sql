-- One database per Warden service, as `warden deploy --database
-- postgres://warden:warden@postgres:5432/warden_{service}` names them in each configuration.
-- The postgres image runs this once, as POSTGRES_USER (warden), when its data volume is empty;
-- each service runs its own migrations at start-up.
CREATE DATABASE warden_aggregator OWNER warden;
CREATE DATABASE warden_operator_0 OWNER warden;
CREATE DATABASE warden_operator_1 OWNER warden;
CREATE DATABASE warden_operator_2 OWNER warden;
CREATE DATABASE warden_operator_3 OWNER warden;
CREATE DATABASE warden_challenger OWNER warden;
