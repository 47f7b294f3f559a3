/**
 * Handler that will be called during the execution of a Client Credentials exchange.
 *
 * Stamps every machine-to-machine access token with the deployment it was issued by, a value
 * kept in the Action's secrets rather than in its code.
 *
 * @param {Event} event - Details about client credentials grant request.
 * @param {CredentialsExchangeAPI} api - Interface whose methods can be used to change the behavior of client credentials grant.
 */
exports.onExecuteCredentialsExchange = async (event, api) => {
  api.accessToken.setCustomClaim('https://deploy-cli.sigil.test/deployment', event.secrets.DEPLOYMENT);
};
