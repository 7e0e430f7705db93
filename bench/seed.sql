-- The parts of the benchmark dataset that are plain rows, written straight
-- into PostgreSQL after `xpr import` has built entries and their history
-- through real merges. Variables (psql -v): users, reviews, long_history, fan_users, fan_watchers.

-- Users sign in with the admin's password (one argon2 hash, copied).
INSERT INTO users (uuid, handle, handle_key, email, email_verified_at, password_hash, display_name, bio,
                   role, status, reputation, created_at, updated_at)
SELECT gen_random_uuid(), 'bench_user_' || i, 'bench_user_' || i, 'bench_user_' || i || '@example.com', now(),
       (SELECT password_hash FROM users WHERE handle = 'bench_admin'), 'Bench user ' || i, 'Benchmark account.',
       'USER', 'ACTIVE', 0, now(), now()
FROM generate_series(0, :users - 1) AS i;

-- Fan-out users, one socket each: each signs in with its own API token
-- `xpr_benchfan_<i>` (no password hashing per socket); the first fan_watchers watch ship-3.
-- Inserted in one statement, so user i has id min(id) + i (the sustained scenario relies on it).
INSERT INTO users (uuid, handle, handle_key, email, email_verified_at, password_hash, display_name, bio,
                   role, status, reputation, created_at, updated_at)
SELECT gen_random_uuid(), 'bench_fan_' || i, 'bench_fan_' || i, 'bench_fan_' || i || '@example.com', now(),
       (SELECT password_hash FROM users WHERE handle = 'bench_admin'), 'Overlay ' || i, '',
       'USER', 'ACTIVE', 0, now(), now()
FROM generate_series(0, :fan_users - 1) AS i ORDER BY i;
INSERT INTO api_tokens (uuid, user_id, name, token_hash, token_prefix, scopes, created_at)
SELECT gen_random_uuid(), id, 'overlay', encode(sha256(convert_to('xpr_benchfan_' || substr(handle, 11), 'UTF8')), 'hex'),
       'xpr_benc', 'read', now()
FROM users WHERE handle LIKE 'bench\_fan\_%';
INSERT INTO watches (user_id, entry_id, created_at)
SELECT u.id, e.id, now() FROM users u
JOIN entries e ON e.slug = 'ship-3' JOIN entry_kinds k ON k.id = e.kind_id AND k.slug = 'ship'
WHERE u.handle LIKE 'bench\_fan\_%' AND substr(u.handle, 11)::int < :fan_watchers;

CREATE TEMP TABLE bench_users AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM users WHERE handle LIKE 'bench\_user\_%';
CREATE TEMP TABLE bench_entries AS
SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM entries;

-- The import merged everything as the admin: spread creators and authors.
UPDATE entries e SET created_by = u.id FROM bench_entries be, bench_users u
WHERE be.id = e.id AND u.n = be.n % :users;
UPDATE revisions r SET author_id = u.id FROM bench_users u
WHERE u.n = (r.entry_id * 31 + r.number) % :users;

-- Reviews: entry k mod E, by a different user for each round over the entries.
INSERT INTO reviews (uuid, entry_id, author_id, rating, title, body, status, helpful_count, unhelpful_count,
                     created_at, updated_at)
SELECT gen_random_uuid(), e.id, u.id, 1 + (k * 7 + k / c.n * 3) % 5, 'Review ' || k,
       'Visited twice; the harbor crew was quick and the cargo arrived intact.', 'PUBLISHED', k % 5, k % 2,
       now() - make_interval(secs => k), now() - make_interval(secs => k)
FROM generate_series(0, :reviews - 1) AS k
CROSS JOIN (SELECT count(*) AS n FROM bench_entries) AS c
JOIN bench_entries e ON e.n = k % c.n
JOIN bench_users u ON u.n = (k % c.n + (k / c.n) * 97) % :users;

-- Exact aggregates, as the server keeps them.
UPDATE entries e SET rating_count = s.count, rating_average = s.average, rating1 = s.r1, rating2 = s.r2,
                     rating3 = s.r3, rating4 = s.r4, rating5 = s.r5
FROM (SELECT entry_id, count(*) AS count, avg(rating)::float8 AS average,
             count(*) FILTER (WHERE rating = 1) AS r1, count(*) FILTER (WHERE rating = 2) AS r2,
             count(*) FILTER (WHERE rating = 3) AS r3, count(*) FILTER (WHERE rating = 4) AS r4,
             count(*) FILTER (WHERE rating = 5) AS r5
      FROM reviews WHERE status = 'PUBLISHED' GROUP BY entry_id) s
WHERE e.id = s.entry_id;

-- Two histories to page: organization org-0 grows to :long_history revisions, org-1 to exactly 10.
CREATE TEMP TABLE bench_history AS
SELECT e.id AS entry_id, e.version, target FROM entries e
JOIN entry_kinds k ON k.id = e.kind_id AND k.slug = 'organization'
JOIN (VALUES ('org-0', :long_history), ('org-1', 10)) AS t(slug, target) ON t.slug = e.slug;

INSERT INTO revisions (uuid, entry_id, number, author_id, summary, snapshot, created_at, archived)
SELECT gen_random_uuid(), h.entry_id, n, r.author_id, 'Seeded edit ' || n,
       jsonb_set(r.snapshot::jsonb, '{summary}', to_jsonb('Seeded edit ' || n)), now() - make_interval(secs => h.target - n),
       false
FROM bench_history h
JOIN revisions r ON r.entry_id = h.entry_id AND r.number = h.version
CROSS JOIN LATERAL generate_series(h.version + 1, h.target) AS n;

UPDATE revisions r SET parent_id = p.previous
FROM (SELECT id, lag(id) OVER (PARTITION BY entry_id ORDER BY number) AS previous
      FROM revisions WHERE entry_id IN (SELECT entry_id FROM bench_history)) p
WHERE r.id = p.id AND r.parent_id IS DISTINCT FROM p.previous;

UPDATE entries e SET version = h.target, summary = 'Seeded edit ' || h.target, current_revision_id = r.id
FROM bench_history h JOIN revisions r ON r.entry_id = h.entry_id AND r.number = h.target
WHERE e.id = h.entry_id AND h.target > h.version;

-- The import rewrote every entry ten times: vacuum now rather than let
-- autovacuum run during whichever scenario comes first.
VACUUM (ANALYZE);
