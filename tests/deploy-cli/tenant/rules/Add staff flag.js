function (user, context, callback) {
  const namespace = configuration.NAMESPACE || 'https://deploy-cli.sigil.test/';
  context.idToken[namespace + 'staff'] = (user.email || '').endsWith('@example.com');
  callback(null, user, context);
}
