import { PersonRole, type User } from '../../protocol/api.ts';
import { connect, requireProject, usage } from '../context.ts';
import type { Command, Context } from '../context.ts';
import { ExitCode } from '../exit-codes.ts';
import { formatTime } from '../output.ts';

function personRole(value: string | undefined, flag = '--role'): PersonRole | undefined {
  if (value === undefined) return undefined;
  const role = PersonRole.safeParse(value);
  if (!role.success) throw usage(`${flag} must be one of ${PersonRole.options.join(', ')}`);
  return role.data;
}

/** A password from standard input (never from argv, where `ps` and shell history see it). */
async function passwordLines(ctx: Context): Promise<string[]> {
  if (!ctx.readStdin) throw usage('--password-stdin needs standard input');
  const lines = (await ctx.readStdin()).split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
  if (lines.length === 0 || lines.every((l) => l === '')) throw usage('no password on standard input');
  return lines;
}

function printUser(ctx: Context, user: User): void {
  ctx.out.line(`${user.name} (${user.id})`);
  ctx.out.line(`  role      ${user.role}${user.disabled ? ', disabled' : ''}`);
  ctx.out.line(`  emails    ${user.emails.length === 0 ? '-' : user.emails.join(', ')}`);
  ctx.out.line(`  password  ${user.hasPassword ? 'set' : 'none (signs in with a personal token)'}`);
  for (const m of user.memberships ?? []) ctx.out.line(`  member    ${m.role} on ${m.project}`);
}

export interface UsersOptions {
  json?: boolean | undefined;
}

export const listUsers: Command<UsersOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const { users } = await client.listUsers();
  if (options.json) {
    ctx.out.json({ users });
    return ExitCode.OK;
  }
  ctx.out.table(
    ['NAME', 'ROLE', 'EMAILS', 'PASSWORD', 'STATE'],
    users.map((u) => [u.name, u.role, u.emails.join(', ') || '-', u.hasPassword ? 'set' : '-', u.disabled ? 'disabled' : 'active']),
  );
  return ExitCode.OK;
};

export interface CreateUserOptions {
  name: string;
  email?: string[] | undefined;
  role?: string | undefined;
  passwordStdin?: boolean | undefined;
  json?: boolean | undefined;
}

export const createUser: Command<CreateUserOptions> = async (options, ctx) => {
  const role = personRole(options.role) ?? 'viewer';
  const password = options.passwordStdin ? (await passwordLines(ctx))[0] : undefined;
  const client = await connect(ctx);
  const user = await client.createUser({ name: options.name, emails: options.email ?? [], role, ...(password === undefined ? {} : { password }) });
  if (options.json) ctx.out.json(user);
  else printUser(ctx, user);
  return ExitCode.OK;
};

export interface ShowUserOptions {
  name: string;
  json?: boolean | undefined;
}

export const showUser: Command<ShowUserOptions> = async (options, ctx) => {
  const client = await connect(ctx);
  const user = await client.getUser(options.name);
  if (options.json) ctx.out.json(user);
  else printUser(ctx, user);
  return ExitCode.OK;
};

export interface SetUserOptions {
  name: string;
  role?: string | undefined;
  addEmail?: string[] | undefined;
  removeEmail?: string[] | undefined;
  disable?: boolean | undefined;
  enable?: boolean | undefined;
  json?: boolean | undefined;
}

export const setUser: Command<SetUserOptions> = async (options, ctx) => {
  if (options.disable && options.enable) throw usage('--disable and --enable exclude each other');
  const role = personRole(options.role);
  const body = {
    ...(role === undefined ? {} : { role }),
    ...(options.addEmail === undefined ? {} : { addEmails: options.addEmail }),
    ...(options.removeEmail === undefined ? {} : { removeEmails: options.removeEmail }),
    ...(options.disable ? { disabled: true } : options.enable ? { disabled: false } : {}),
  };
  if (Object.keys(body).length === 0) throw usage('nothing to change: give --role, --add-email, --remove-email, --disable or --enable');
  const client = await connect(ctx);
  const user = await client.updateUser(options.name, body);
  if (options.json) ctx.out.json(user);
  else printUser(ctx, user);
  return ExitCode.OK;
};

export interface PasswordOptions {
  name: string;
  passwordStdin?: boolean | undefined;
  json?: boolean | undefined;
}

/**
 * Standard input holds the new password, or two lines — the current one, then the new one —
 * when people change their own and are not admins.
 */
export const setPassword: Command<PasswordOptions> = async (options, ctx) => {
  if (!options.passwordStdin) throw usage('give the password on standard input with --password-stdin');
  const lines = await passwordLines(ctx);
  const [first, second] = lines;
  const body = second === undefined ? { password: first ?? '' } : { current: first ?? '', password: second };
  const client = await connect(ctx);
  await client.setPassword(options.name, body);
  if (options.json) ctx.out.json({ user: options.name, passwordSet: true });
  else ctx.out.line(`Password of ${options.name} set; their dashboard sessions have ended.`);
  return ExitCode.OK;
};

export interface MembersOptions {
  project?: string | undefined;
  json?: boolean | undefined;
}

export const listMembers: Command<MembersOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  const { members } = await client.listMembers(project);
  if (options.json) {
    ctx.out.json({ members });
    return ExitCode.OK;
  }
  ctx.out.table(
    ['USER', 'ROLE', 'SINCE', 'BY'],
    members.map((m) => [m.user, m.role, formatTime(m.createdAt), m.createdBy]),
  );
  return ExitCode.OK;
};

export interface AddMemberOptions {
  user: string;
  project?: string | undefined;
  role?: string | undefined;
  json?: boolean | undefined;
}

export const addMember: Command<AddMemberOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const role = personRole(options.role);
  if (role === undefined) throw usage('members add needs --role <viewer|deployer|approver|admin>');
  const client = await connect(ctx);
  const member = await client.setMember(project, options.user, { role });
  if (options.json) ctx.out.json(member);
  else ctx.out.line(`${member.user} is ${member.role} on ${project}.`);
  return ExitCode.OK;
};

export interface RemoveMemberOptions {
  user: string;
  project?: string | undefined;
  json?: boolean | undefined;
}

export const removeMember: Command<RemoveMemberOptions> = async (options, ctx) => {
  const project = requireProject(options.project, ctx);
  const client = await connect(ctx);
  await client.removeMember(project, options.user);
  if (options.json) ctx.out.json({ project, user: options.user, removed: true });
  else ctx.out.line(`${options.user} is no longer a member of ${project} (their global role stays).`);
  return ExitCode.OK;
};
