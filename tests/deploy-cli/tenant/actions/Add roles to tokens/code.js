/**
 * Handler that will be called during the execution of a PostLogin flow.
 *
 * Adds the user's roles to the ID and access tokens under a namespaced claim
 * (Auth0's "Add user roles to ID and Access tokens" example).
 *
 * @param {Event} event - Details about the user and the context in which they are logging in.
 * @param {PostLoginAPI} api - Interface whose methods can be used to change the behavior of the login.
 */
exports.onExecutePostLogin = async (event, api) => {
  const namespace = 'https://deploy-cli.sigil.test';
  if (event.authorization) {
    api.idToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
    api.accessToken.setCustomClaim(`${namespace}/roles`, event.authorization.roles);
  }
};
