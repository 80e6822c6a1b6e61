CREATE TABLE meta (
	"key" VARCHAR NOT NULL, 
	value VARCHAR NOT NULL, 
	PRIMARY KEY ("key")
);
CREATE TABLE rep (
	id INTEGER NOT NULL, 
	name VARCHAR NOT NULL, 
	role VARCHAR NOT NULL, 
	coach_id INTEGER, 
	capacity INTEGER, 
	hired_at DATETIME NOT NULL, 
	left_at DATETIME, 
	PRIMARY KEY (id), 
	UNIQUE (name), 
	FOREIGN KEY(coach_id) REFERENCES rep (id)
);
CREATE TABLE customer (
	id INTEGER NOT NULL, 
	external_id VARCHAR, 
	name VARCHAR NOT NULL, 
	contact VARCHAR, 
	phone VARCHAR, 
	email VARCHAR, 
	city VARCHAR, 
	level VARCHAR, 
	stage VARCHAR NOT NULL, 
	owner_id INTEGER, 
	owned_since DATETIME, 
	last_contact_at DATETIME, 
	pooled_at DATETIME, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (external_id), 
	FOREIGN KEY(owner_id) REFERENCES rep (id)
);
CREATE INDEX ix_customer_pool ON customer (pooled_at, id);
CREATE INDEX ix_customer_name ON customer (name);
CREATE INDEX ix_customer_owner_stage ON customer (owner_id, stage);
CREATE TABLE follow_up (
	id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	rep_id INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	note VARCHAR, 
	at DATETIME NOT NULL, 
	next_at DATETIME, 
	PRIMARY KEY (id), 
	FOREIGN KEY(customer_id) REFERENCES customer (id), 
	FOREIGN KEY(rep_id) REFERENCES rep (id)
);
CREATE INDEX ix_follow_up_rep_at ON follow_up (rep_id, at);
CREATE INDEX ix_follow_up_customer_at ON follow_up (customer_id, at);
CREATE TABLE deal (
	id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	rep_id INTEGER NOT NULL, 
	amount_minor BIGINT NOT NULL, 
	channel VARCHAR NOT NULL, 
	at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(customer_id) REFERENCES customer (id), 
	FOREIGN KEY(rep_id) REFERENCES rep (id)
);
CREATE INDEX ix_deal_customer_id ON deal (customer_id);
CREATE INDEX ix_deal_rep_at ON deal (rep_id, at);
CREATE TABLE event (
	id INTEGER NOT NULL, 
	customer_id INTEGER NOT NULL, 
	at DATETIME NOT NULL, 
	kind VARCHAR NOT NULL, 
	from_rep_id INTEGER, 
	to_rep_id INTEGER, 
	from_stage VARCHAR, 
	to_stage VARCHAR, 
	reason VARCHAR, 
	actor VARCHAR, 
	PRIMARY KEY (id), 
	FOREIGN KEY(customer_id) REFERENCES customer (id), 
	FOREIGN KEY(from_rep_id) REFERENCES rep (id), 
	FOREIGN KEY(to_rep_id) REFERENCES rep (id)
);
CREATE INDEX ix_event_kind_at ON event (kind, at);
CREATE INDEX ix_event_customer_at ON event (customer_id, at);
