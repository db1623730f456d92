// kubernetes-models and its KEDA models are ESM only (their package exports have an `import` condition and
// nothing for require): resolve them, and the packages they import, with that condition; swc then turns them
// into CommonJS like the sources. Every other module resolves as jest's default does.
const ESM_ONLY = /(^|[\\/])(@kubernetes-models|kubernetes-models)([\\/]|$)/;

module.exports = (request, options) => {
  const esm = ESM_ONLY.test(request) || ESM_ONLY.test(options.basedir);
  return options.defaultResolver(request, esm ? { ...options, conditions: ['import', 'node', 'default'] } : options);
};
