package demo

// tables are the tables the dataset fills, all created by the bundled
// migrations.
var tables = []string{
	"tag_category", "information_tag", "artifact_tag_classification", "material_artifact",
	"sales_measurement_dataset", "commercial_transaction_process", "digital_asset", "tag_suggestion",
	"plan_specification", "creative_act_report", "document_artifact", "tag_performance_aggregate",
}

// statement is one step of the load. Its named parameters are @anchor (the
// last day of sales), @artifacts, @sales (the number of artifacts with
// sales) and @days.
type statement struct {
	// table is the table the statement fills; empty for the aggregate
	// refresh, whose count is not an insert count.
	table string
	sql   string
}

// The helper expressions below derive stable pseudo-random numbers from
// identifiers: hashint8(x) & 2147483647 is a non-negative int, the same on
// every load.
var statements = []statement{
	{"tag_category", `
INSERT INTO tag_category (category_identifier, title, description)
SELECT c.id, c.title, c.description
  FROM (VALUES ('CAT-GENRE', 'Genre', 'What the product is about.'),
               ('CAT-FORMAT', 'Format', 'The physical form of the product.'),
               ('CAT-AUDIENCE', 'Audience', 'Who the product is for.'),
               ('CAT-SEASON', 'Season', 'When the product sells best.'),
               ('CAT-PROMOTION', 'Promotion', 'Campaigns the product takes part in.')) c(id, title, description)
ON CONFLICT DO NOTHING`},
	{"information_tag", `
INSERT INTO information_tag (tag_identifier, category_identifier, label)
SELECT 'TAG-' || lpad(t::text, 4, '0'),
       (ARRAY['CAT-GENRE', 'CAT-FORMAT', 'CAT-AUDIENCE', 'CAT-SEASON', 'CAT-PROMOTION'])[(t - 1) / 8 + 1],
       (ARRAY['fiction', 'history', 'science', 'travel', 'cooking', 'poetry', 'comics', 'music',
              'hardcover', 'paperback', 'vinyl', 'cd', 'poster', 'print', 'boxed-set', 'digital-code',
              'children', 'teens', 'adults', 'collectors', 'students', 'professionals', 'families', 'gift',
              'spring', 'summer', 'autumn', 'winter', 'holiday', 'back-to-school', 'valentine', 'black-friday',
              'bestseller', 'new-release', 'staff-pick', 'clearance', 'limited-edition', 'bundle', 'signed', 'reissue'])[t]
  FROM generate_series(1, 40) t
ON CONFLICT DO NOTHING`},
	{"artifact_tag_classification", `
INSERT INTO artifact_tag_classification (artifact_identifier, tag_identifier, classified_by, confidence, classified_at)
SELECT 'ART-' || lpad(a::text, 8, '0'), 'TAG-' || lpad(v.tag::text, 4, '0'),
       (ARRAY['editor', 'import', 'model'])[v.n],
       CASE WHEN v.n = 3 THEN 0.6 + (a % 40) / 100.0 ELSE 1 END,
       @anchor::date - (a % 700) * interval '1 hour'
  FROM generate_series(1, @artifacts::int) a,
       LATERAL (VALUES (1, 1 + a % 40), (2, 1 + (a * 7 + 3) % 40), (3, 1 + (a * 13 + 5) % 40)) v(n, tag)
 WHERE v.n = 1 OR v.n = 2 AND a % 2 = 0 OR v.n = 3 AND a % 5 = 0
ON CONFLICT DO NOTHING`},
	{"material_artifact", `
INSERT INTO material_artifact (artifact_identifier, title, tags, is_active, last_seen)
SELECT id,
       initcap((SELECT t.label FROM information_tag t WHERE t.tag_identifier = 'TAG-' || lpad((1 + a % 40)::text, 4, '0')))
         || ' artifact #' || a,
       coalesce((SELECT jsonb_agg(t.label ORDER BY t.label)
                   FROM artifact_tag_classification c JOIN information_tag t USING (tag_identifier)
                  WHERE c.artifact_identifier = id), '[]'::jsonb),
       a % 10 <> 0,
       @anchor::date - (a % 1000) * interval '1 hour'
  FROM generate_series(1, @artifacts::int) a, LATERAL (SELECT 'ART-' || lpad(a::text, 8, '0') AS id) i
ON CONFLICT DO NOTHING`},
	{"sales_measurement_dataset", `
INSERT INTO sales_measurement_dataset (artifact_identifier, day, units, units_net)
SELECT 'ART-' || lpad(a::text, 8, '0'), @anchor::date - d, u, u - r
  FROM generate_series(1, @sales::int) a, generate_series(0, @days::int - 1) d,
       LATERAL (SELECT ((hashint8(a::bigint * 100000 + d) & 2147483647) % (1 + (a * 7) % 40)
                        * CASE WHEN extract(isodow FROM @anchor::date - d) >= 6 THEN 2 ELSE 1 END)::int AS u) units,
       LATERAL (SELECT ((hashint8(a::bigint * 100000 + d + 50000) & 2147483647) % (u / 5 + 1))::int AS r) returns
ON CONFLICT DO NOTHING`},
	{"commercial_transaction_process", `
INSERT INTO commercial_transaction_process (transaction_identifier, transaction_kind, artifact_identifier,
       quantity, amount_minor_units, currency_code, occurred_at)
SELECT 'ORD-' || lpad(o::text, 8, '0'), 'order', 'ART-' || lpad(art::text, 8, '0'),
       1 + o % 3, (1 + o % 3) * (499 + (art * 31) % 5000),
       (ARRAY['EUR', 'USD', 'GBP'])[1 + art % 3],
       @anchor::date - (o % @days::int) * interval '1 day' + (o % 86400) * interval '1 second'
  FROM generate_series(1, 20 * @sales::int) o, LATERAL (SELECT 1 + (o * 37) % @sales::int AS art) x
ON CONFLICT DO NOTHING`},
	{"commercial_transaction_process", `
INSERT INTO commercial_transaction_process (transaction_identifier, transaction_kind, artifact_identifier,
       refunded_transaction_identifier, quantity, amount_minor_units, currency_code, occurred_at, refund_reason)
SELECT 'REF-' || lpad(o::text, 8, '0'), 'refund', p.artifact_identifier, p.transaction_identifier,
       p.quantity, p.amount_minor_units, p.currency_code,
       least(p.occurred_at + interval '3 days', @anchor::date + interval '1 day' - interval '1 second'),
       (ARRAY['damaged in transit', 'wrong item', 'changed mind'])[1 + o % 3]
  FROM generate_series(25, 20 * @sales::int, 25) o
  JOIN commercial_transaction_process p ON p.transaction_identifier = 'ORD-' || lpad(o::text, 8, '0')
ON CONFLICT DO NOTHING`},
	{"digital_asset", `
INSERT INTO digital_asset (asset_identifier, artifact_identifier, media_type, storage_uri, byte_size, sha256,
       width_px, height_px, created_at)
SELECT 'AST-' || lpad(a::text, 8, '0'), 'ART-' || lpad(a::text, 8, '0'), 'image/jpeg',
       's3://pgwarp-demo/artifacts/ART-' || lpad(a::text, 8, '0') || '/cover.jpg',
       50000 + (a * 7919) % 450000, sha256(convert_to('cover ' || a, 'UTF8')), 1200, 1600,
       @anchor::date - (a % 365) * interval '1 day'
  FROM generate_series(2, @artifacts::int, 2) a
ON CONFLICT DO NOTHING`},
	{"tag_suggestion", `
INSERT INTO tag_suggestion (suggestion_identifier, artifact_identifier, tag_identifier, proposed_label, source,
       score, status, created_at, decided_at)
SELECT 'SUG-' || lpad(s::text, 6, '0'), 'ART-' || lpad((1 + (s * 17) % @artifacts::int)::text, 8, '0'),
       CASE WHEN s % 4 <> 0 THEN 'TAG-' || lpad((1 + (s * 11) % 40)::text, 4, '0') END,
       CASE WHEN s % 4 = 0 THEN 'proposed-label-' || s END,
       (ARRAY['editor', 'customer', 'model'])[1 + s % 3],
       CASE WHEN s % 3 = 2 THEN (s % 100) / 100.0 END,
       st.status,
       @anchor::date - (s % 90) * interval '1 day',
       CASE WHEN st.status <> 'pending' THEN @anchor::date - (s % 90) * interval '1 day' + interval '1 day' END
  FROM generate_series(1, 600) s, LATERAL (SELECT (ARRAY['pending', 'accepted', 'rejected'])[1 + s % 3] AS status) st
ON CONFLICT DO NOTHING`},
	{"plan_specification", `
INSERT INTO plan_specification (plan_identifier, parent_plan_identifier, artifact_identifier, title, objective,
       status, starts_on, ends_on, budget_minor_units, currency_code)
SELECT 'PLN-' || lpad(p::text, 4, '0'),
       CASE WHEN p > 10 THEN 'PLN-' || lpad((1 + p % 10)::text, 4, '0') END,
       CASE WHEN p > 10 THEN 'ART-' || lpad((1 + (p * 53) % @sales::int)::text, 8, '0') END,
       CASE WHEN p <= 10 THEN 'Season campaign ' || p ELSE 'Relaunch ' || p END,
       'Grow units by ' || (5 + p % 20) || ' percent',
       (ARRAY['draft', 'active', 'completed', 'cancelled'])[1 + p % 4],
       @anchor::date - p * 5, @anchor::date - p * 5 + 60,
       CASE WHEN p % 3 <> 0 THEN 100000 * (1 + p % 7) END,
       CASE WHEN p % 3 <> 0 THEN 'EUR' END
  FROM generate_series(1, 60) p
ON CONFLICT DO NOTHING`},
	{"creative_act_report", `
INSERT INTO creative_act_report (report_identifier, artifact_identifier, plan_identifier, act_kind, creator_name,
       performed_on, hours_spent, summary)
SELECT 'CAR-' || lpad(r::text, 6, '0'), 'ART-' || lpad((1 + (r * 29) % @artifacts::int)::text, 8, '0'),
       CASE WHEN r % 3 = 0 THEN 'PLN-' || lpad((1 + r % 60)::text, 4, '0') END,
       (ARRAY['design', 'photography', 'illustration', 'writing', 'editing'])[1 + r % 5],
       (ARRAY['Ada Stone', 'Bo Lind', 'Chiara Neri', 'Dev Patel', 'Emi Sato', 'Femi Okoro'])[1 + r % 6],
       @anchor::date - r % 365, (1 + r % 16) / 2.0, 'Demo report ' || r
  FROM generate_series(1, 2000) r
ON CONFLICT DO NOTHING`},
	{"document_artifact", `
INSERT INTO document_artifact (document_identifier, artifact_identifier, asset_identifier, document_kind, title,
       body, language_code, published_at)
SELECT 'DOC-' || lpad(d::text, 6, '0'),
       CASE WHEN d % 3 <> 0 THEN 'ART-' || lpad((2 * d)::text, 8, '0') END,
       CASE WHEN d % 2 = 0 THEN 'AST-' || lpad((2 * d)::text, 8, '0') END,
       (ARRAY['manual', 'specification', 'certificate', 'press_release', 'note'])[1 + d % 5],
       'Document ' || d,
       CASE WHEN d % 2 = 1 THEN '# Document ' || d || E'\n\nDemo text.' END,
       (ARRAY['en', 'de', 'fr', 'en-GB'])[1 + d % 4],
       CASE WHEN d % 4 <> 0 THEN @anchor::date - d END
  FROM generate_series(1, least(300, @artifacts::int / 2)) d
ON CONFLICT DO NOTHING`},
	// The last 30 days of the aggregate, unless a load already computed
	// them: recomputing would only move refreshed_at.
	{"", `
SELECT refresh_tag_performance_aggregate(@anchor::date - least(29, @days::int - 1), @anchor::date)
 WHERE NOT EXISTS (SELECT 1 FROM tag_performance_aggregate WHERE day = @anchor::date)
`},
}
