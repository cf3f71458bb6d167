// The role matrix is the server's own (src/auth/roles.ts): the app hides what a role cannot do, and the
// server refuses it anyway.
export { type Permission, roleCan } from '../../src/auth/roles.ts';
