use crate::{builder::ImageBuilder, error::Result, image::Image, progress::Progress};
pub(crate) fn lay_out(_b: &ImageBuilder, _p: &mut dyn Progress) -> Result<Image> {
    todo!()
}
