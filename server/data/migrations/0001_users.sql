-- The original's users table. `if not exists` so a database of the original system is adopted as is.
create table if not exists users (
  uuid uuid primary key default gen_random_uuid(),
  display_name text not null,
  handle text not null,
  email text,
  cognito_user_id text,
  created_at timestamp with time zone not null default now()
);
