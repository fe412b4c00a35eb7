-- The original had no constraints. Handles are unique whatever their case; a Cognito sub maps to one user.
-- The original seeded the placeholder 'MOCK' for every user: that is no sub, and would break uniqueness.
update users set cognito_user_id = null where cognito_user_id = 'MOCK';
create unique index if not exists users_handle_lower_key on users (lower(handle));
create unique index if not exists users_cognito_user_id_key on users (cognito_user_id);
alter table users alter column created_at set default now();
