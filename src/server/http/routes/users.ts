import { z } from 'zod';
import { CreateUserRequest, Membership, SetMemberRequest, SetPasswordRequest, UpdateUserRequest, User } from '../../../protocol/api.ts';
import { addMember, createUser, getUser, listMembers, listUsers, removeMember, setPassword, updateUser } from '../../services/users.ts';
import type { HttpContext, Params } from '../context.ts';
import { parse } from '../parse.ts';
import { presentUser } from '../present.ts';
import type { RouteSpec } from '../route.ts';

/** Users (global, admin-managed), their passwords, and memberships per project. */
export function userRoutes({ deps }: HttpContext): RouteSpec[] {
  return [
    {
      method: 'GET',
      url: '/api/v1/users',
      summary: 'Users with their global role and emails',
      response: z.object({ users: z.array(User) }),
      handler: async (_request, _reply, actor) => ({ users: (await listUsers(deps, actor)).map((u) => presentUser(u.user, u.emails)) }),
    },
    {
      method: 'POST',
      url: '/api/v1/users',
      summary: 'Create a user (admin): name, emails (their commits are mapped to them by these), global role, maybe a password; audited as user.create',
      body: CreateUserRequest,
      response: User,
      status: 201,
      handler: async (request, _reply, actor) => {
        const view = await createUser(deps, actor, parse(CreateUserRequest, request.body));
        return presentUser(view.user, view.emails, view.memberships);
      },
    },
    {
      method: 'GET',
      url: '/api/v1/users/:user',
      summary: 'One user (name or id) with memberships',
      response: User,
      handler: async (request, _reply, actor) => {
        const view = await getUser(deps, actor, (request.params as Params).user ?? '');
        return presentUser(view.user, view.emails, view.memberships);
      },
    },
    {
      method: 'PATCH',
      url: '/api/v1/users/:user',
      summary: 'Change a user (admin): global role, emails, disabled (ends their sessions; their tokens stop working); audited',
      body: UpdateUserRequest,
      response: User,
      handler: async (request, _reply, actor) => {
        const view = await updateUser(deps, actor, (request.params as Params).user ?? '', parse(UpdateUserRequest, request.body));
        return presentUser(view.user, view.emails, view.memberships);
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/users/:user/password',
      summary: 'Set a password: an admin for anyone, a person their own (with the current one); ends that user\'s sessions; audited as user.password',
      body: SetPasswordRequest,
      status: 204,
      handler: async (request, reply, actor) => {
        await setPassword(deps, actor, (request.params as Params).user ?? '', parse(SetPasswordRequest, request.body));
        void reply.status(204);
        return null;
      },
    },
    {
      method: 'GET',
      url: '/api/v1/projects/:project/members',
      summary: 'Members of a project and their roles there',
      response: z.object({ members: z.array(Membership) }),
      handler: async (request) => {
        const project = (request.params as Params).project ?? '';
        const members = await listMembers(deps, project);
        return { members: members.map((m) => ({ project, user: m.user, role: m.role, createdAt: m.createdAt, createdBy: m.createdBy })) };
      },
    },
    {
      method: 'PUT',
      url: '/api/v1/projects/:project/members/:user',
      summary: "Give a user a role on a project, or change it (project admin); it adds to the user's global role; audited",
      body: SetMemberRequest,
      response: Membership,
      handler: async (request, _reply, actor) => {
        const { project = '', user = '' } = request.params as Params;
        const m = await addMember(deps, actor, project, { user, role: parse(SetMemberRequest, request.body).role });
        return { project, user: m.user, role: m.role, createdAt: m.createdAt, createdBy: m.createdBy };
      },
    },
    {
      method: 'DELETE',
      url: '/api/v1/projects/:project/members/:user',
      summary: 'Take a user off a project (project admin); their global role stays; audited',
      status: 204,
      handler: async (request, reply, actor) => {
        const { project = '', user = '' } = request.params as Params;
        await removeMember(deps, actor, project, user);
        void reply.status(204);
        return null;
      },
    },
  ];
}
