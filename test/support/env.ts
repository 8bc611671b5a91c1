// No metadata server on developer machines or CI: stop the Google auth library from probing for one.
process.env.METADATA_SERVER_DETECTION = 'none';
