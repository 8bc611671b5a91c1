# Which analytics views exist and in what order BigQuery must create them. Pure functions of the SQL files (no
# resources), so test/terraform.test.ts evaluates this file with `terraform console`.
#
# shared/warehouse/views/<name>.sql is a templatefile() template. Its only placeholders are `${events}` (the events table)
# and `${<view>}` (another view); each becomes a fully qualified, backticked table name. BigQuery checks a view's
# query when the view is created, so a view must come after the views it reads: levels 0-2 below, each created
# after the previous one.

locals {
  view_templates = { for f in fileset(local.views_dir, "*.sql") : trimsuffix(f, ".sql") => file("${local.views_dir}/${f}") }

  view_reads = {
    for name, sql in local.view_templates :
    name => setsubtract(toset([for m in regexall("\\$\\{([A-Za-z_][A-Za-z0-9_]*)\\}", sql) : m[0]]), ["events"])
  }

  view_level_0 = toset([for name, reads in local.view_reads : name if length(reads) == 0])
  view_level_1 = toset([
    for name, reads in local.view_reads : name
    if !contains(local.view_level_0, name) && length(setsubtract(reads, local.view_level_0)) == 0
  ])
  view_level_2 = toset([
    for name, reads in local.view_reads : name
    if !contains(setunion(local.view_level_0, local.view_level_1), name) && length(setsubtract(reads, setunion(local.view_level_0, local.view_level_1))) == 0
  ])
  views_unplaced = setsubtract(keys(local.view_reads), setunion(local.view_level_0, local.view_level_1, local.view_level_2))

  view_table_names = merge(
    { for name in keys(local.view_templates) : name => "`${local.view_table_prefix}.${name}`" },
    { events = "`${local.view_table_prefix}.${local.view_events_table}`" },
  )
  view_sql = { for name in keys(local.view_templates) : name => templatefile("${local.views_dir}/${name}.sql", local.view_table_names) }
}
