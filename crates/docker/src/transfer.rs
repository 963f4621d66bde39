//! Images carried from one engine to another through the API (`docker save`
//! into `docker load`): a remote engine gets a base image that cannot be
//! pulled there from the engine that has it.

use futures_util::StreamExt;

use crate::{api, Engine, Error};

impl Engine {
    /// True if this engine has `image`.
    pub async fn has_image(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    /// Copies `image` from this engine to `to`. The image is held in memory
    /// on the way (a Debian base is about 100 MB).
    pub async fn copy_image(&self, image: &str, to: &Engine) -> Result<(), Error> {
        let mut chunks = Vec::new();
        let mut export = self.docker.export_image(image);
        while let Some(chunk) = export.next().await {
            chunks.push(chunk.map_err(api(format!("saving {image} from {}", self.endpoint)))?);
        }
        let body = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, std::io::Error>));
        let options = bollard::query_parameters::ImportImageOptionsBuilder::default().quiet(true).build();
        let mut load = to.docker.import_image_stream(options, body, None);
        while let Some(item) = load.next().await {
            let info = item.map_err(api(format!("loading {image} into {}", to.endpoint)))?;
            if let Some(detail) = info.error_detail {
                return Err(Error::BaseImage {
                    image: image.to_string(),
                    reason: format!("loading it into {} failed: {}", to.endpoint, detail.message.unwrap_or_default()),
                });
            }
        }
        Ok(())
    }
}
